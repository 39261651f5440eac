"""Approval forms (审批) held by the sandbox: oa/applyevent, oa/getapprovaldetail, oa/getapprovalinfo.

Flow model: a form has approval nodes in order. `use_template_approver: 0` takes the nodes from the
request (`process.node_list` or the legacy `approver` list); `1` stands for "the template's flow",
which the sandbox models as one node with the creator's level-1 leader. Node type 2 (抄送) adds the
users to `notifyer`. Multi-approver semantics: legacy `attr` 1 或签 (any one) / 2 会签 (all); newer
`apv_rel` 1 会签 (all) / 2 或签 (any) / 3 依次 (treated as all). The `apv_rel`/`type` enums are not
confirmed (PROTOCOL.md §3.6); the raw request is kept in the form for inspection.

`decide` is the WeCom-side simulator's hook (an approver acts in the WeCom client); it is not an API.
Every method expects the sandbox lock to be held by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from local.sandbox import params
from local.sandbox.directory import SandboxExtras
from local.sandbox.errcodes import ApiError, Err
from wecom_oa.clock import Clock
from wecom_oa.directory import StaticDirectory, leader
from wecom_oa.errors import Conflict, Forbidden, NotFound

WECOM_TZ = ZoneInfo("Asia/Shanghai")  # sp_no dates are China dates
MAX_WINDOW_SECONDS = 31 * 86_400
MAX_PAGE = 100

# Form SpStatus; node / approver SpStatus (PROTOCOL.md §2.4).
IN_REVIEW, APPROVED, REJECTED, WITHDRAWN, REVOKED = 1, 2, 3, 4, 6
NODE_PENDING, NODE_AGREED, NODE_REJECTED = 1, 2, 3
# StatuChangeEvent values the simulator emits.
EVENT_SUBMITTED, EVENT_AGREED, EVENT_REJECTED, EVENT_WITHDRAWN, EVENT_REVOKED = 1, 2, 3, 6, 8


def _param(problem: str) -> ApiError:
    return ApiError(Err.APPROVAL_PARAMETER, f"request parameter error: {problem}")


@dataclass
class _Node:
    attr: int  # 1 或签 any one, 2 会签 all (WeCom's ApproverAttr)
    userids: list[str]
    decisions: dict[str, tuple[int, str, int]] = field(default_factory=dict)  # userid → (status, speech, sptime)

    @property
    def status(self) -> int:
        states = [d[0] for d in self.decisions.values()]
        if NODE_REJECTED in states:
            return NODE_REJECTED
        if (self.attr == 1 and states) or (states and len(states) == len(self.userids)):
            return NODE_AGREED
        return NODE_PENDING

    def record(self) -> dict[str, Any]:
        details = []
        for uid in self.userids:
            status, speech, sptime = self.decisions.get(uid, (NODE_PENDING, "", 0))
            details.append({"approver": {"userid": uid}, "speech": speech, "sp_status": status,
                            "sptime": sptime, "media_id": []})
        return {"sp_status": self.status, "approverattr": self.attr, "details": details}


@dataclass
class _Form:
    sp_no: str
    sp_name: str
    template_id: str
    creator: str
    partyid: int | None
    apply_time: int
    nodes: list[_Node]
    notifyer: list[str]
    apply_data: dict[str, Any]
    summary_list: list[Any]
    request: dict[str, Any]
    ended: int | None = None  # WITHDRAWN or REVOKED, set by the creator's 撤销

    @property
    def sp_status(self) -> int:
        if self.ended is not None:
            return self.ended
        states = [n.status for n in self.nodes]
        if NODE_REJECTED in states:
            return REJECTED
        return APPROVED if all(s == NODE_AGREED for s in states) else IN_REVIEW

    def info(self) -> dict[str, Any]:
        return {
            "sp_no": self.sp_no,
            "sp_name": self.sp_name,
            "sp_status": self.sp_status,
            "template_id": self.template_id,
            "apply_time": self.apply_time,
            "applyer": {"userid": self.creator, "partyid": str(self.partyid or "")},
            "sp_record": [n.record() for n in self.nodes],
            "notifyer": [{"userid": u} for u in self.notifyer],
            "apply_data": self.apply_data,
            "comments": [],
            "summary_list": self.summary_list,
        }


class ApprovalStore:
    def __init__(self, directory: StaticDirectory, extras: SandboxExtras, clock: Clock) -> None:
        self._directory = directory
        self._extras = extras
        self._clock = clock
        self._forms: dict[str, _Form] = {}

    # -- APIs -------------------------------------------------------------------------------

    def apply(self, body: dict[str, Any]) -> str:
        creator = body.get("creator_userid")
        if not isinstance(creator, str) or not self._active(creator):
            raise ApiError(Err.APPROVAL_NO_PERMISSION, "no approval permission: creator_userid is not a visible member")
        template_id = body.get("template_id")
        if not isinstance(template_id, str) or not template_id:
            raise _param("template_id is required")
        name = self._extras.template_name(template_id)
        if name is None and self._extras.approval_templates:
            raise _param(f"unknown template_id {template_id!r}")
        nodes, cc = self._nodes(body, creator)
        now = self._clock.now()
        form = _Form(
            sp_no=self._next_sp_no(now),
            sp_name=name or template_id,
            template_id=template_id,
            creator=creator,
            partyid=self._directory.user(creator).department,
            apply_time=int(now.timestamp()),
            nodes=nodes,
            notifyer=[*self._users(body.get("notifyer", []), "notifyer"), *cc],
            apply_data=self._with_day_length(_apply_data(body.get("apply_data"))),
            summary_list=_summary(body.get("summary_list", [])),
            request=body,
        )
        self._forms[form.sp_no] = form
        return form.sp_no

    def detail(self, body: dict[str, Any]) -> dict[str, Any]:
        sp_no = str(body.get("sp_no") or "")
        form = self._forms.get(sp_no)
        if form is None:
            raise _param(f"sp_no {sp_no!r} not found")
        return {"info": form.info()}

    def list_numbers(self, body: dict[str, Any]) -> dict[str, Any]:
        start, end = _timestamp(body, "starttime"), _timestamp(body, "endtime")
        if end < start or end - start > MAX_WINDOW_SECONDS:
            raise _param("endtime must be after starttime and within 31 days of it")
        size = body.get("size", MAX_PAGE)
        if not isinstance(size, int) or not 1 <= size <= MAX_PAGE:
            raise _param(f"size must be 1..{MAX_PAGE}")
        new_style = "new_cursor" in body
        offset = _offset(body.get("new_cursor") if new_style else body.get("cursor", 0))
        filters = _filters(body.get("filters", []))
        matches = sorted(
            (f for f in self._forms.values() if start <= f.apply_time <= end and _matches(f, filters)),
            key=lambda f: (f.apply_time, f.sp_no),
        )
        page = [f.sp_no for f in matches[offset : offset + size]]
        nxt = offset + len(page) if offset + len(page) < len(matches) else None
        if new_style:
            return {"sp_no_list": page, "new_next_cursor": "" if nxt is None else str(nxt)}
        return {"sp_no_list": page, "next_cursor": nxt or 0}

    # -- simulator hooks --------------------------------------------------------------------

    def info(self, sp_no: str) -> dict[str, Any]:
        form = self._forms.get(sp_no)
        if form is None:
            raise NotFound(f"unknown sp_no {sp_no!r}")
        return form.info()

    def decide(self, sp_no: str, userid: str, approve: bool, speech: str = "") -> dict[str, Any]:
        """Record `userid`'s decision on the current node; returns the form info plus
        `statu_change_event` (2 agreed / 3 rejected) for the sys_approval_change callback."""
        form = self._forms.get(sp_no)
        if form is None:
            raise NotFound(f"unknown sp_no {sp_no!r}")
        if form.sp_status != IN_REVIEW:
            raise Conflict(f"approval {sp_no} is already decided")
        node = next(n for n in form.nodes if n.status == NODE_PENDING)
        if userid not in node.userids or userid in node.decisions:
            raise Forbidden(f"{userid!r} is not a pending approver of the current node of {sp_no}")
        status = NODE_AGREED if approve else NODE_REJECTED
        node.decisions[userid] = (status, speech, int(self._clock.now().timestamp()))
        return {**form.info(), "statu_change_event": EVENT_AGREED if approve else EVENT_REJECTED}

    def withdraw(self, sp_no: str, userid: str) -> dict[str, Any]:
        """The creator's 撤销: in review → 已撤销 (StatuChangeEvent 6); approved → 通过后撤销 (8).
        Returns the form info plus `statu_change_event` for the sys_approval_change callback."""
        form = self._forms.get(sp_no)
        if form is None:
            raise NotFound(f"unknown sp_no {sp_no!r}")
        if userid != form.creator:
            raise Forbidden(f"only the applicant {form.creator!r} can withdraw {sp_no}")
        status = form.sp_status
        if status not in (IN_REVIEW, APPROVED):
            raise Conflict(f"approval {sp_no} can no longer be withdrawn (SpStatus {status})")
        form.ended = WITHDRAWN if status == IN_REVIEW else REVOKED
        return {**form.info(), "statu_change_event": EVENT_WITHDRAWN if status == IN_REVIEW else EVENT_REVOKED}

    # -- helpers ----------------------------------------------------------------------------

    def _with_day_length(self, apply_data: dict[str, Any]) -> dict[str, Any]:
        """Like WeCom's detail answer, a Vacation range carries `perday_duration` (seconds of one
        day of that leave type: 86 400, or the hours of an hourly type)."""
        by_name = {vt.name: vt for vt in self._extras.vacation_types}
        for content in apply_data["contents"]:
            vacation = content["value"].get("vacation") if content.get("control") == "Vacation" else None
            if not isinstance(vacation, dict):
                continue
            options = (vacation.get("selector") or {}).get("options") or [{}]
            kind = by_name.get(str(options[0].get("key", "")))
            span = (vacation.get("attendance") or {}).get("date_range")
            if kind is not None and isinstance(span, dict):
                span["perday_duration"] = kind.seconds_per_day
        return apply_data

    def _active(self, userid: str) -> bool:
        return self._directory.has_user(userid) and self._directory.user(userid).status == 1

    def _users(self, value: Any, where: str) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
            raise _param(f"{where} must be a list of userids")
        unknown = [u for u in value if not self._active(u)]
        if unknown:
            raise _param(f"{where}: unknown userid {unknown[0]!r}")
        return list(value)

    def _nodes(self, body: dict[str, Any], creator: str) -> tuple[list[_Node], list[str]]:
        mode = body.get("use_template_approver", 0)
        if mode == 1:
            boss = leader(self._directory, creator, 1)
            return ([_Node(1, [boss])] if boss else []), []
        if mode != 0:
            raise _param("use_template_approver must be 0 or 1")
        process = body.get("process")
        if isinstance(process, dict):
            return self._process_nodes(process)
        approver = body.get("approver")
        if not isinstance(approver, list) or not approver:
            raise _param("process.node_list or approver is required when use_template_approver is 0")
        nodes = []
        for i, item in enumerate(approver):
            if not isinstance(item, dict) or item.get("attr") not in (1, 2):
                raise _param(f"approver[{i}].attr must be 1 or 2")
            nodes.append(_Node(item["attr"], self._users(item.get("userid"), f"approver[{i}].userid")))
        return nodes, []

    def _process_nodes(self, process: dict[str, Any]) -> tuple[list[_Node], list[str]]:
        node_list = process.get("node_list")
        if not isinstance(node_list, list) or not node_list:
            raise _param("process.node_list must be a non-empty list")
        nodes: list[_Node] = []
        cc: list[str] = []
        for i, item in enumerate(node_list):
            if not isinstance(item, dict):
                raise _param(f"process.node_list[{i}] must be an object")
            users = self._users(item.get("userid"), f"process.node_list[{i}].userid")
            if item.get("type") == 2:
                cc.extend(users)
            else:
                nodes.append(_Node(2 if item.get("apv_rel", 1) != 2 else 1, users))
        if not nodes:
            raise _param("process.node_list has no approval node")
        return nodes, cc

    def _next_sp_no(self, now: datetime) -> str:
        day = now.astimezone(WECOM_TZ).strftime("%Y%m%d")
        count = sum(1 for sp in self._forms if sp.startswith(day)) + 1
        return f"{day}{count:04d}"


def _apply_data(value: Any) -> dict[str, Any]:
    contents = value.get("contents") if isinstance(value, dict) else None
    if not isinstance(contents, list) or not contents:
        raise _param("apply_data.contents must be a non-empty list")
    for i, c in enumerate(contents):
        ok = isinstance(c, dict) and isinstance(c.get("control"), str) and isinstance(c.get("id"), str)
        if not ok or not isinstance(c.get("value"), dict):
            raise _param(f"apply_data.contents[{i}] needs control, id and value")
    return {"contents": contents}


def _summary(value: Any) -> list[Any]:
    if not isinstance(value, list) or len(value) > 3:
        raise _param("summary_list must be a list of at most 3 items")
    return value


def _timestamp(body: dict[str, Any], name: str) -> int:
    try:
        return int(body[name])
    except (KeyError, TypeError, ValueError):
        raise _param(f"{name} must be a unix timestamp") from None


def _offset(cursor: Any) -> int:
    if cursor in (None, ""):
        return 0
    try:
        offset = int(cursor)
    except (TypeError, ValueError):
        raise _param("invalid cursor") from None
    if offset < 0:
        raise _param("invalid cursor")
    return offset


_FILTER_KEYS = ("template_id", "creator", "department", "sp_status")


def _filters(value: Any) -> list[tuple[str, str]]:
    return params.filters(value, _FILTER_KEYS, _param)


def _matches(form: _Form, filters: list[tuple[str, str]]) -> bool:
    actual = {
        "template_id": form.template_id,
        "creator": form.creator,
        "department": str(form.partyid),
        "sp_status": str(form.sp_status),
    }
    return all(actual[key] == value for key, value in filters)
