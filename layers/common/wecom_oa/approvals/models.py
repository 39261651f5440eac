"""Boundaries of approvals: the HTTP bodies, the state machine task inputs/outputs, the notifier's
actions. Validation errors become `InvalidInput` naming the field (`parse`)."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, TypeAdapter

from wecom_oa.validation import Model, parse

# `withdrawn`: the applicant withdrew (or an admin deleted) a WeCom form before its decision;
# `revoked`: an approved WeCom form was revoked afterwards (通过后撤销).
Status = Literal["pending", "approved", "rejected", "auto_rejected", "failed", "withdrawn", "revoked"]


class _In(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CreateApproval(_In):
    """POST /approvals and POST /approvals/evaluate."""

    type: str = Field(min_length=1, max_length=40)
    applicant: str = Field(min_length=1, max_length=64)
    form: dict[str, Any]


Channel = Literal["app", "wecom"]


class SubmitApproval(CreateApproval):
    """POST /approvals: CreateApproval plus where approvers decide (`app` cards or the `wecom` 审批 app)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"type": "expense", "applicant": "zhangsan", "form": {"amount": 3200, "reason": "上海客户拜访差旅"}},
        {"type": "leave", "applicant": "lisi", "form": {"leave_type": "annual", "days": 2, "handover_to": "wangwu"},
         "channel": "wecom"},
    ]})

    channel: Channel = "app"


USERID_PATTERN = r"^[A-Za-z0-9_.@-]+$"
TYPE_PATTERN = r"^[A-Za-z0-9_.-]+$"


class ApprovalSummary(Model):
    """An approval as `GET /approvals` lists it (times in the company's offset)."""

    model_config = ConfigDict(extra="allow")
    id: str
    type: str
    applicant: str
    status: Status
    outcome: str | None = None
    channel: Channel = "app"
    created_at: str = Field(examples=["2026-12-04T18:00:00+08:00"])
    decided_at: str | None = None
    decided_by: str | None = None
    current_approver: str | None = None
    due_at: str | None = None


class ApprovalList(Model):
    """One page: the filters given, the approvals, and `next_cursor` (null: the list ends here)."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [{
        "status": "pending", "count": 1, "next_cursor": None,
        "approvals": [{"id": "AP20261204-1a2b3c4d", "type": "expense", "applicant": "zhangsan", "status": "pending",
                       "outcome": "route", "channel": "app", "created_at": "2026-12-04T18:00:00+08:00",
                       "current_approver": "lina", "due_at": "2026-12-05T18:00:00+08:00"}],
    }]})
    approvals: list[ApprovalSummary]
    count: int
    next_cursor: str | None = None


class ApprovalCreated(Model):
    id: str
    status: Status
    outcome: Literal["auto_approve", "auto_reject", "route"]
    route: list[dict[str, Any]]
    suggestion: str | None = None
    findings: list[dict[str, Any]] = Field(default_factory=list)


# -- state machine tasks (ApprovalBranchFunction) ---------------------------------------------------

class EvaluateTask(_In):
    action: Literal["evaluate"]
    approval_id: str


class NextStageTask(_In):
    action: Literal["next_stage"]
    approval_id: str


class StageTimeoutTask(_In):
    action: Literal["stage_timeout"]
    approval_id: str
    stage: int = Field(ge=1)
    round: int = Field(ge=1)


class FinalizeTask(_In):
    action: Literal["finalize"]
    approval_id: str


class FailTask(_In):
    model_config = ConfigDict(extra="ignore")

    action: Literal["fail"]
    approval_id: str
    error: dict[str, Any] | None = None


BranchTask = Annotated[EvaluateTask | NextStageTask | StageTimeoutTask | FinalizeTask | FailTask,
                       Field(discriminator="action")]


class StageStep(Model):
    """What `next_stage` / `stage_timeout` tell the state machine (timeout ≥ 60 s)."""

    done: bool
    stage: int
    round: int
    timeout_seconds: int = Field(ge=60)
    next: Literal["wait", "continue", "finish"]
    card: str | None = None  # a stage a click opened: the card it registered and sent (its wait arms it)


class FinalEvent(Model):
    detail_type: Literal["approval.approved", "approval.rejected"]
    detail: str  # JSON text: PutEvents takes Detail as a string


class Finalized(Model):
    status: Status
    event: FinalEvent


# -- notifier --------------------------------------------------------------------------------------

class StageCardsTask(_In):
    action: Literal["approval_stage_cards"]
    approval_id: str
    stage: int = Field(ge=1)
    round: int = Field(ge=1)
    task_token: str = Field(min_length=1)
    card: str | None = None  # the stage's card is out already (sent by the click that opened it): arm it


class OutcomeTask(_In):
    action: Literal["approval_outcome"]
    approval_id: str


class SendTask(_In):
    action: Literal["send"]
    touser: list[str] = Field(min_length=1)
    msgtype: Literal["text", "markdown"] = "text"
    content: str = Field(min_length=1)


NotifierTask = Annotated[StageCardsTask | OutcomeTask | SendTask, Field(discriminator="action")]

@cache
def _adapter(kind: str) -> TypeAdapter[Any]:
    """Built on first use: at import it would build every task model's validator."""
    return TypeAdapter(BranchTask if kind == "branch" else NotifierTask)


def parse_branch_task(data: Any) -> Any:
    return parse(_adapter("branch"), data)


def parse_notifier_task(data: Any) -> Any:
    return parse(_adapter("notifier"), data)
