"""The approval reconciler heals a lost sys_approval_change callback, once, through the callback path."""

from __future__ import annotations

import json
from pathlib import Path

APPLY = Path(__file__).resolve().parents[1] / "events" / "approvals" / "native_expense_applyevent.json"


def _event_keys(stack) -> list[str]:
    items = stack.client("dynamodb").scan(TableName=stack.physical["AppTable"]["Ref"])["Items"]
    return sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith("EVENT#apv:"))


def test_a_native_approval_whose_callback_was_lost_is_fed_once(local_app) -> None:
    from wecom_oa import wiring

    # Given an approval submitted in WeCom whose callback never reached us
    sp_no = wiring.wecom_client().oa_apply_event(json.loads(APPLY.read_text(encoding="utf-8")))
    # When the reconcile schedule fires twice
    first = local_app.stack.fire("approval-reconcile")
    local_app.stack.drain()
    second = local_app.stack.fire("approval-reconcile")
    local_app.stack.drain()
    # Then its current state was fed through the callback path exactly once
    keys = _event_keys(local_app.stack)
    assert len(keys) == 1 and keys[0].startswith(f"EVENT#apv:{sp_no}:0:")
    assert (first["result"]["fed"], second["result"]["fed"]) == (1, 0), (first, second)
