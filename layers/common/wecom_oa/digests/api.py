"""HTTP routes the digests read from: production plans and actuals (`POST /progress`, for the
hourly progress and its alarms) and daily reports (`POST /reports`, for the missing-report
reminders). The service is imported on the first request."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from wecom_oa.digests.progress import ProgressPost
from wecom_oa.digests.reports import ReportsPost
from wecom_oa.http import ERRORS, created, created_doc

router = Router()
TAG = ["digests"]


@router.post("/progress", tags=TAG, summary="Production plans and cumulative actuals",
             responses={**created_doc(description="`{plans, actuals, ignored_older}`"), **ERRORS})
def post_progress(body: Annotated[ProgressPost, Body()]) -> Response[dict[str, Any]]:
    """Plans are stored as given; an actual older than the one stored for its order is ignored
    (counted in `ignored_older`); an actual of an order without a plan answers 400 naming it."""
    from wecom_oa.digests import service

    return created(service.record_progress(body))


@router.post("/reports", tags=TAG, summary="Daily reports received", responses={**created_doc(), **ERRORS})
def post_reports(body: Annotated[ReportsPost, Body()]) -> Response[dict[str, Any]]:
    """One per member and date; WeCom 汇报 journals are imported by the digest itself."""
    from wecom_oa.digests import service

    return created(service.record_reports(body))
