"""Operator routes over failed app messages (messaging/sending.py): list the parked ones, replay one.

A send is parked after its retry budget or at once on a WeCom configuration error (bad secret, IP
not on the trusted list). Fix the cause, then replay: the send is attempted again as it was, once.
"""

from __future__ import annotations

from typing import Any

from wecom_oa import wiring
from wecom_oa.api import ApiRequest, route


@route("GET", "/outbox/parked")
def _parked_route(request: ApiRequest) -> tuple[int, Any]:
    return 200, {"parked": wiring.sender().parked()}


@route("POST", "/outbox/parked/{id}/replay")
def _replay_route(request: ApiRequest) -> tuple[int, Any]:
    return 200, wiring.sender().replay(request.params["id"])
