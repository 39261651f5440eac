"""HTTP routes of approvals: evaluate a request against the rule set, submit one, read one.

Bodies are validated by powertools from the models (400 naming the field); what needs the rule
set or the directory (form bounds, applicant, handover colleague) is checked by the service. The
service is imported on the first request, so a cold start of the api function loads only this
router and the models."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from wecom_oa.approvals.models import ApprovalCreated, CreateApproval, Status, SubmitApproval
from wecom_oa.http import ERRORS, created, created_doc

router = Router()
TAG = ["approvals"]
ApprovalId = Annotated[str, Path(min_length=1, max_length=80, description="approval id (`AP…`)")]


@router.post("/approvals/evaluate", tags=TAG, summary="Evaluate a request against the rule set (nothing stored)",
             responses=ERRORS)
def evaluate(body: Annotated[CreateApproval, Body()]) -> dict[str, Any]:
    """The decision the rules give for `type`, `applicant` and `form`: outcome (`auto_approve`,
    `auto_reject` with a suggestion, `route` with its stages), the rows that matched and why."""
    from wecom_oa.approvals import service

    return service.evaluate_request(body).model_dump(mode="json")


@router.post("/approvals", tags=TAG, summary="Submit an approval request", responses={**created_doc(ApprovalCreated), **ERRORS})
def submit(body: Annotated[SubmitApproval, Body()]) -> Response[dict[str, Any]]:
    """Evaluate and store the request; route it to its approvers' cards (`channel: app`) or the
    WeCom 审批 app (`channel: wecom`), or answer at once (`auto_approve`, `auto_reject`)."""
    from wecom_oa.approvals import service

    return created(service.create_checked(body).model_dump(mode="json"))


@router.get("/approvals", tags=TAG, summary="An applicant's approvals, or all that wait for a decision",
            responses=ERRORS)
def list_approvals(
    applicant: Annotated[str | None, Query(min_length=1, max_length=64, description="their approvals, newest first")] = None,
    status: Annotated[Status | None, Query(description="with applicant: only this status; alone: `pending`")] = None,
    limit: Annotated[int, Query(ge=1, le=100, description="approvals per page (with applicant)")] = 20,
    cursor: Annotated[str | None, Query(max_length=1000, description="`next_cursor` of the previous page")] = None,
) -> dict[str, Any]:
    from wecom_oa.approvals import service

    return service.list_approvals(applicant, status, limit, cursor)


@router.get("/approvals/<id>", tags=TAG, summary="An approval with its stages and decisions", responses=ERRORS)
def get_approval(id: ApprovalId) -> dict[str, Any]:
    from wecom_oa.approvals import service

    return service.view(id)
