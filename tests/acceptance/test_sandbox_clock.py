"""The sandbox clock a person can steer: on the stepped clock, `{"run": scale}` lets time pass on its
own (timers and schedules follow, each at its instant), `{"pause": true}` stops it where it is, and
`advance` / `to` still move it by hand in between."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest

pytestmark = pytest.mark.slow


def test_a_running_clock_fires_timers_and_a_paused_one_stands_still(start_company) -> None:
    company = start_company("2026-12-08T09:30:00+08:00", people=["xuming", "gaofeng"])
    company.api("POST", "/alerts", {"source": "MES", "type": "设备故障", "severity": "critical",
                                    "dedup_key": "clock-1", "labels": {"line": "一号线", "device": "烘箱"},
                                    "fields": {"故障描述": "温控失效"}}, expect=201)
    status, state = company.call("POST", "/_sandbox/clock", {"run": 0.002})  # 15 virtual minutes in 1.8 s
    assert status == 200 and state["running"] is True and state["scale"] == 0.002

    deadline = time.monotonic() + 120  # an event to wait for (the escalation), with a bound for a hung stack
    while time.monotonic() < deadline and not [t for t in company.texts("gaofeng") if "告警升级 L1" in t]:
        time.sleep(0.2)
    assert [t for t in company.texts("gaofeng") if "告警升级 L1" in t], "the escalation 15 minutes on fired by itself"

    status, state = company.call("POST", "/_sandbox/clock", {"pause": True})
    assert status == 200 and state["running"] is False
    paused_at = company.now()
    company.settle()
    assert company.now() == paused_at, "paused: time moves only when asked"
    assert datetime.fromisoformat(paused_at) >= datetime.fromisoformat("2026-12-08T09:45:00+08:00")
    moved = company.advance("1h")
    assert datetime.fromisoformat(company.now()) == datetime.fromisoformat(paused_at) + timedelta(hours=1), moved
    status, body = company.call("POST", "/_sandbox/clock", {"run": 0})
    assert status == 400 and "run" in body["error"]["message"]


def test_a_reset_leaves_a_clean_company_and_no_timer_of_the_old_one(start_company) -> None:
    company = start_company("2026-12-08T10:00:00+08:00", people=["xuming", "gaofeng"])
    down = company.api("POST", "/alerts", {"source": "MES", "type": "设备故障", "severity": "critical",
                                           "dedup_key": "reset-1", "labels": {"line": "一号线", "device": "烘箱"},
                                           "fields": {"故障描述": "温控失效"}}, expect=201)
    assert company.texts("xuming")
    status, body = company.call("POST", "/_sandbox/reset")
    assert status == 200 and body["executions_stopped"] >= 1 and body["items_deleted"] > 0, body
    assert company.call("GET", "/_sandbox/messages")[1] == []
    assert company.call("GET", f"/alerts/{down['id']}")[0] == 404
    company.advance("2h")
    assert not company.texts("gaofeng"), "the old incident's timer was stopped: no escalation"
    again = company.api("POST", "/alerts", {"source": "MES", "type": "设备故障", "severity": "critical",
                                            "dedup_key": "reset-1", "labels": {"line": "一号线", "device": "烘箱"},
                                            "fields": {"故障描述": "温控失效"}}, expect=201)
    assert again["id"] != down["id"] and company.texts("xuming"), "the same key is a new alert after a reset"
