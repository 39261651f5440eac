"""HTTP routes of notices (公告): publish one with read (acknowledgement) tracking, read its
counts, list a month's notices. The service is imported on the first request."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from wecom_oa.http import ERRORS, created, created_doc
from wecom_oa.notices.models import MONTH_PATTERN, NoticeRequest
from wecom_oa.paging import PAGE_LIMIT_DEFAULT, PageCursor, PageLimit

router = Router()
TAG = ["notices"]
NoticeId = Annotated[str, Path(min_length=1, max_length=80, description="notice id")]


@router.post("/notices", tags=TAG, summary="Publish a notice with read tracking", responses={**created_doc(), **ERRORS})
def publish(body: Annotated[NoticeRequest, Body()]) -> Response[dict[str, Any]]:
    """Answers at once with `status: sending`; recipients get a card with 已阅 in batches, are
    nudged and escalated to their leaders in business time, and the sender gets the final report."""
    from wecom_oa.notices import service

    return created(service.publish(body))


@router.get("/notices/<id>", tags=TAG, summary="A notice's acknowledgement counts", responses=ERRORS)
def get_notice(id: NoticeId) -> dict[str, Any]:
    """Counts by region always; by department and the pending userids for notices of at most
    1000 recipients."""
    from wecom_oa.notices import service

    return service.report(id)


@router.get("/notices", tags=TAG, summary="The notices of a month, newest first", responses=ERRORS)
def list_notices(
    month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="`YYYY-MM`, company time; default: this month")] = None,
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    from wecom_oa.notices import service

    return service.list_month(month, limit, cursor)
