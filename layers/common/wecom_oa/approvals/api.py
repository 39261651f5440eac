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
from pydantic import AwareDatetime

from wecom_oa.approvals.models import (
    TYPE_PATTERN,
    USERID_PATTERN,
    ApprovalCreated,
    ApprovalList,
    CreateApproval,
    Status,
    SubmitApproval,
)
from wecom_oa.http import ERRORS, created, created_doc, ok_doc
from wecom_oa.paging import PAGE_LIMIT_DEFAULT, PageCursor, PageLimit

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


@router.get("/approvals", tags=TAG, summary="Approvals by applicant, approver, status, type and time, newest first",
            responses={**ok_doc(ApprovalList), **ERRORS})
def list_approvals(
    applicant: Annotated[str | None, Query(min_length=1, max_length=64, pattern=USERID_PATTERN,
                                           description="their approvals (userid)")] = None,
    approver: Annotated[str | None, Query(min_length=1, max_length=64, pattern=USERID_PATTERN,
                                          description="approvals with this approver in any stage (userid)")] = None,
    status: Annotated[Status | None, Query(description="only this status (`pending`: waiting for a decision)")] = None,
    type: Annotated[str | None, Query(min_length=1, max_length=64, pattern=TYPE_PATTERN,
                                      description="only this approval type, e.g. `expense`, `leave`")] = None,
    since: Annotated[AwareDatetime | None, Query(description="created at or after (ISO 8601 with offset)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="created before (ISO 8601 with offset)")] = None,
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    """Every filter given must hold; none: every approval. A page holds at most `limit` approvals
    and reads about as many; with two filters or more it may hold fewer, even none, while
    `next_cursor` is set: follow it until it is null."""
    from wecom_oa.approvals import lists

    return lists.list_approvals(applicant=applicant, approver=approver, status=status, approval_type=type,
                                since=since, until=until, limit=limit, cursor=cursor)


@router.get("/approvals/<id>", tags=TAG, summary="An approval with its stages and decisions", responses=ERRORS)
def get_approval(id: ApprovalId) -> dict[str, Any]:
    from wecom_oa.approvals import service

    return service.view(id)
