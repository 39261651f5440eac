"""Typed WeCom callback events (PROTOCOL.md §2), built by `wecom_oa.wecom.parser`.

Contract: every event has `kind` (the discriminator) and `idempotency_key` (§2.7, also present in
`model_dump()`); repeated XML elements are always lists; numbers are ints; ids that are only
identifiers (MsgId, SpNo, CommentId, ResponseCode) stay strings. Events travel through SQS as
`model_dump(mode="json")` and come back with `load_event`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, JsonValue, TypeAdapter, ValidationError, computed_field

from wecom_oa.errors import InvalidInput
from wecom_oa.validation import Model


class SpStatus(IntEnum):
    """Whole-form approval status after the change (ApprovalInfo.SpStatus)."""

    IN_REVIEW = 1
    APPROVED = 2
    REJECTED = 3
    WITHDRAWN = 4
    REVOKED_AFTER_APPROVAL = 6
    DELETED = 7
    PAID = 10


class StatuChange(IntEnum):
    """What happened (ApprovalInfo.StatuChangeEvent). Events carry the raw int: values grow."""

    SUBMITTED = 1
    APPROVED = 2
    REJECTED = 3
    TRANSFERRED = 4
    REMINDED = 5
    WITHDRAWN = 6
    REVOKED_AFTER_APPROVAL = 8
    COMMENT_ADDED = 10
    RETURNED = 11
    APPROVER_ADDED = 12
    ADD_SIGN_AND_APPROVE = 13
    HANDLED = 14
    HANDED_OVER = 15


FINAL_SP_STATUSES = frozenset({2, 3, 4, 6, 7})


class _Model(Model):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _Envelope(_Model):
    to_user_name: str
    from_user_name: str
    create_time: int
    msg_type: str
    agent_id: int | None = None


# --- messages -----------------------------------------------------------------------------------


class TextMessage(_Envelope):
    kind: Literal["text"] = "text"
    content: str
    msg_id: str

    @computed_field
    @property
    def idempotency_key(self) -> str:
        return f"msg:{self.agent_id or ''}:{self.msg_id}"


class Message(_Envelope):
    """image, voice, video, location, link, file…: typed envelope plus the raw leaf fields."""

    kind: Literal["message"] = "message"
    msg_id: str | None = None
    fields: dict[str, JsonValue] = Field(default_factory=dict)

    @computed_field
    @property
    def idempotency_key(self) -> str:
        if self.msg_id:
            return f"msg:{self.agent_id or ''}:{self.msg_id}"
        return f"evt:{self.from_user_name}:{self.msg_type}:{self.create_time}"


# --- events -------------------------------------------------------------------------------------


class _Event(_Envelope):
    event: str

    @computed_field
    @property
    def idempotency_key(self) -> str:
        return f"evt:{self.from_user_name}:{self.event}:{self.create_time}"


class EnterAgentEvent(_Event):
    kind: Literal["enter_agent"] = "enter_agent"
    event_key: str = ""


class Applyer(_Model):
    user_id: str = ""
    party: str = ""


class ApprovalDetail(_Model):
    """One approver's action on a node (SpRecord/Details)."""

    approver_user_id: str = ""
    speech: str = ""
    sp_status: int | None = None
    sp_time: int = 0  # 0 = not acted yet
    attach: list[str] = Field(default_factory=list)


class ApprovalRecord(_Model):
    """One approval node (SpRecord). approver_attr: 1 = any one (或签), 2 = all (会签)."""

    sp_status: int | None = None
    approver_attr: int | None = None
    details: list[ApprovalDetail] = Field(default_factory=list)


class ApprovalComment(_Model):
    user_id: str = ""
    comment_time: int | None = None
    comment_content: str = ""
    comment_id: str = ""
    attach: list[str] = Field(default_factory=list)


class ProcessSubNode(_Model):
    user_id: str = ""
    speech: str = ""
    sp_yj: int | None = None
    sp_time: int | None = None
    media_ids: list[str] = Field(default_factory=list)


class ProcessNode(_Model):
    node_type: int | None = None
    sp_status: int | None = None
    apv_rel: int | None = None
    sub_nodes: list[ProcessSubNode] = Field(default_factory=list)


class ApprovalInfo(_Model):
    sp_no: str  # SpNoStr when present, else SpNo: an identifier, kept as digits
    sp_name: str = ""
    sp_status: int
    template_id: str = ""
    apply_time: int | None = None
    applyer: Applyer = Field(default_factory=Applyer)
    sp_record: list[ApprovalRecord] = Field(default_factory=list)
    notifyer: list[str] = Field(default_factory=list)  # user ids (sic "Notifyer")
    comments: list[ApprovalComment] = Field(default_factory=list)
    process_list: list[ProcessNode] | None = None  # None when the payload has no ProcessList
    statu_change_event: int  # sic "Statu"; unknown values are kept as they come

    @property
    def is_final(self) -> bool:
        """The whole form reached an end state (approved, rejected, withdrawn, revoked, deleted)."""
        return self.sp_status in FINAL_SP_STATUSES

    @property
    def approved(self) -> bool:
        """Finally approved. A node approval (StatuChangeEvent=2 with SpStatus=1) is not."""
        return self.sp_status == SpStatus.APPROVED


class SysApprovalChangeEvent(_Event):
    kind: Literal["approval_change"] = "approval_change"
    approval: ApprovalInfo

    @computed_field
    @property
    def idempotency_key(self) -> str:
        a = self.approval
        return f"apv:{a.sp_no}:{a.statu_change_event}:{a.sp_status}:{self.create_time}"

    @property
    def is_final(self) -> bool:
        return self.approval.is_final

    @property
    def approved(self) -> bool:
        return self.approval.approved


class SelectedItem(_Model):
    question_key: str = ""
    option_ids: list[str] = Field(default_factory=list)


class TemplateCardEvent(_Event):
    kind: Literal["card_click"] = "card_click"
    event_key: str = ""
    task_id: str
    card_type: str = ""
    response_code: str = ""
    selected_items: list[SelectedItem] = Field(default_factory=list)

    @computed_field
    @property
    def idempotency_key(self) -> str:
        return f"card:{self.from_user_name}:{self.task_id}:{self.response_code}"


class ChangeContactEvent(_Event):
    """change_contact: user, party (department) and tag changes; only the fields sent are set."""

    kind: Literal["contact_change"] = "contact_change"
    change_type: str
    # user
    user_id: str | None = None
    new_user_id: str | None = None
    name: str | None = None  # user or party name
    department: list[int] = Field(default_factory=list)
    main_department: int | None = None
    is_leader_in_dept: list[int] = Field(default_factory=list)
    direct_leader: list[str] = Field(default_factory=list)
    position: str | None = None
    mobile: str | None = None
    gender: int | None = None
    email: str | None = None
    biz_mail: str | None = None
    status: int | None = None
    avatar: str | None = None
    alias: str | None = None
    telephone: str | None = None
    address: str | None = None
    # party
    id: int | None = None
    parent_id: int | None = None
    order: int | None = None
    # tag
    tag_id: int | None = None
    add_user_items: list[str] = Field(default_factory=list)
    del_user_items: list[str] = Field(default_factory=list)
    add_party_items: list[int] = Field(default_factory=list)
    del_party_items: list[int] = Field(default_factory=list)
    fields: dict[str, JsonValue] = Field(default_factory=dict)  # everything sent, raw (e.g. ExtAttr)

    @computed_field
    @property
    def idempotency_key(self) -> str:
        subject = next((str(v) for v in (self.user_id, self.id, self.tag_id) if v not in (None, "")), "")
        return f"contact:{self.change_type}:{subject}:{self.create_time}"


class UnknownEvent(_Envelope):
    """Any MsgType/Event we do not model: kept whole so nothing is lost."""

    kind: Literal["unknown"] = "unknown"
    event: str | None = None
    fields: dict[str, JsonValue] = Field(default_factory=dict)

    @computed_field
    @property
    def idempotency_key(self) -> str:
        return f"evt:{self.from_user_name}:{self.event or self.msg_type}:{self.create_time}"


WeComEvent = Annotated[
    TextMessage
    | Message
    | EnterAgentEvent
    | SysApprovalChangeEvent
    | TemplateCardEvent
    | ChangeContactEvent
    | UnknownEvent,
    Field(discriminator="kind"),
]

_EVENT_ADAPTER: TypeAdapter[WeComEvent] = TypeAdapter(WeComEvent)


def _fields_named(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(event)", "problem": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


def load_event(data: dict[str, Any]) -> WeComEvent:
    """Rebuild an event from `model_dump(mode="json")` (e.g. an SQS body). Raises InvalidInput."""
    try:
        return _EVENT_ADAPTER.validate_python(data)
    except ValidationError as exc:
        details = _fields_named(exc)
        raise InvalidInput(
            "invalid WeCom event: " + ", ".join(d["field"] for d in details), details=details
        ) from exc
