"""A timer check whose notification fails midway gives back only the unsent actions: the retry
sends those, and nothing that already went out is sent twice."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

from wecom_oa.clock import ManualClock, VirtualClock, set_clock


def test_given_a_send_failure_midway_when_the_check_is_retried_then_each_action_is_notified_once(
        local_app, monkeypatch: pytest.MonkeyPatch) -> None:
    from wecom_oa.aws.dynamo import Keys, app_table
    from wecom_oa.tickets import service as tickets

    start = datetime.fromisoformat("2026-11-23T09:00:00+08:00")
    set_clock(VirtualClock(start, scale=1.0))  # the armed timer sleeps in real time: it stays out of the way
    _, ticket = local_app.http("POST", "/tickets", {
        "type": "repair", "title": "叉车无法启动", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "叉车", "location": "仓库"}})
    generation = int(app_table().get(Keys.ticket(ticket["id"]))["timer_generation"])
    _park_timer(ticket["id"], generation)
    set_clock(ManualClock(start + timedelta(hours=5)))  # breach, level 1 and level 2 due at once

    real_notify, calls = tickets._notify_due, {"n": 0}

    def fail_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("WeCom unavailable")
        return real_notify(*args, **kwargs)

    monkeypatch.setattr(tickets, "_notify_due", fail_second)
    with pytest.raises(RuntimeError):
        tickets.check(ticket["id"], generation)
    monkeypatch.setattr(tickets, "_notify_due", real_notify)
    tickets.check(ticket["id"], generation)  # the ASL retry

    sla_texts = [m["content"] for m in local_app.messages()
                 if ticket["id"] in (m.get("content") or "") and ("SLA" in m["content"] or "工单升级" in m["content"])]
    assert len(sla_texts) >= 3
    assert len(sla_texts) == len(set(sla_texts)), "an action was notified twice"


def _park_timer(ticket_id: str, generation: int) -> None:
    """Let the armed timer finish its first check, then stop it: this test plays the ASL retry itself.

    Without this, a slow machine may run the execution's first check after the clock jumps, and
    that check (with the real sender) would take every due action before the test's own check."""
    from wecom_oa import wiring
    from wecom_oa.settings import get_settings

    sfn = wiring.aws("stepfunctions")
    arn = get_settings().ticket_state_machine_arn.replace(":stateMachine:", ":execution:") + f":{ticket_id}-g{generation}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = sfn.get_execution_history(executionArn=arn)["events"]
        if any(e["type"] == "WaitStateEntered" for e in events):
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the ticket timer never reached its wait state")
    sfn.stop_execution(executionArn=arn, cause="test drives the check itself")
