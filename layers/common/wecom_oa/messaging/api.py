"""Operator routes over failed app messages (messaging/sending.py): list the parked ones, replay one.

A send is parked after its retry budget or at once on a WeCom configuration error (bad secret, IP
not on the trusted list). Fix the cause, then replay: the send is attempted again as it was, once.
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path

from wecom_oa.http import ERRORS

router = Router()
TAG = ["outbox"]


@router.get("/outbox/parked", tags=TAG, summary="Sends parked after their retries or a configuration error",
            responses=ERRORS)
def parked() -> dict[str, Any]:
    from wecom_oa import wiring

    return {"parked": wiring.sender().parked()}


@router.post("/outbox/parked/<id>/replay", tags=TAG, summary="Attempt a parked send again, once", responses=ERRORS)
def replay(id: Annotated[str, Path(min_length=1, max_length=200, description="parked send id")]) -> dict[str, Any]:
    from wecom_oa import wiring

    return wiring.sender().replay(id)
