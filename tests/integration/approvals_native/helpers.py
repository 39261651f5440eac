"""Helpers for native WeCom approval tests: sandbox forms, callbacks, captured bus events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

APPROVAL_EVENTS = Path(__file__).resolve().parents[2] / "events" / "approvals"


def apply_native(name: str) -> str:
    """Submit a form in WeCom (as a user of the 审批 app would); returns its sp_no."""
    from wecom_oa import wiring

    return wiring.wecom_client().oa_apply_event(json.loads((APPROVAL_EVENTS / name).read_text(encoding="utf-8")))


def deliver_submitted(app: Any, sp_no: str) -> None:
    result = app.simulator.approval_change(sp_no)
    assert result["status"] == 200, result
    app.stack.drain()


def decide(app: Any, sp_no: str, userid: str, approve: bool = True) -> dict[str, Any]:
    result = app.simulator.decide_approval(sp_no, userid, approve)
    assert result["status"] == 200, result
    app.stack.drain()
    return result


def redeliver(app: Any, sp_no: str, xml: str) -> None:
    """The same callback again with a later CreateTime (a different idempotency key)."""
    import re

    later = re.sub(r"<CreateTime>(\d+)</CreateTime>", lambda m: f"<CreateTime>{int(m[1]) + 7}</CreateTime>", xml)
    assert later != xml
    assert app.simulator.post_event(later)["status"] == 200
    app.stack.drain()


def callback_keys(app: Any, sp_no: str) -> list[str]:
    items = app.stack.client("dynamodb").scan(TableName=app.stack.env["TABLE_NAME"])["Items"]
    return sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith(f"EVENT#apv:{sp_no}:"))


def drain_events(read: Any) -> list[dict[str, Any]]:
    """Every event the capture queue holds (reads until it is empty)."""
    out: list[dict[str, Any]] = []
    while batch := read():
        out.extend(batch)
    return out


def texts_with(app: Any, needle: str) -> list[dict[str, Any]]:
    return [m for m in app.messages() if m["msgtype"] == "text" and needle in (m["content"] or "")]
