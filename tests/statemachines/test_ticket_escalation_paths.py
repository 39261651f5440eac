"""Path tests of statemachines/ticket_escalation.asl.json executed by moto with our handlers and a
scaled virtual clock (an hour of timers passes in well under a second)."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from wecom_oa.clock import VirtualClock, set_clock

pytestmark = pytest.mark.slow
SCALE = 2e-5  # one virtual hour = 0.072 s


def _texts(app, userid: str) -> list[str]:
    return [m.get("content") or "" for m in app.messages()
            if userid in (m.get("recipients") or {}).get("userids", m.get("touser", []))]


def _wait(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def _executions(app, ticket_id: str) -> list[dict]:
    sfn = app.stack.client("stepfunctions")
    arn = app.stack.physical["TicketEscalationStateMachine"]["Arn"]
    return [e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["name"].startswith(ticket_id)]


def test_unanswered_repair_ticket_escalates_to_supervisor_then_director_across_a_weekend(local_app) -> None:
    # Given Friday 17:30 Shanghai: 30 business minutes today, the rest after the weekend
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-20T17:30:00+08:00"), scale=SCALE))
    status, ticket = local_app.http("POST", "/tickets", {
        "type": "repair", "title": "3号产线包装机异响", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "包装机", "location": "一号厂房"}})
    assert status == 201, ticket
    # When nobody answers, Then both escalation levels fire and the timer finishes
    t0 = time.monotonic()
    _wait(lambda: all(e["status"] != "RUNNING" for e in _executions(local_app, ticket["id"]))
          and len(_executions(local_app, ticket["id"])) >= 1)
    assert time.monotonic() - t0 < 15
    # Then the first-response clock escalated once per level, to the handler's leaders
    first = [m for m in local_app.messages() if "工单升级" in (m.get("content") or "") and "首次响应" in m["content"]]
    by_level = {("L1" if "L1" in m["content"] else "L2"): m for m in first}
    assert len(first) == 2, "each level notifies exactly once"
    # supervisor = the handler's level-1 leader, regional director = level 2 (demo company)
    assert by_level["L1"]["recipients"]["userids"] == ["lina"]
    assert by_level["L2"]["recipients"]["userids"] == ["zhoujie"]
    assert all(ticket["id"] in m["content"] and ticket["title"] in m["content"] for m in first)
    # at 1 h and 3 h of business time: the weekend is skipped, so both fire on Monday, in order
    deadline = datetime.fromisoformat(ticket["sla"]["first_response"]["deadline"])
    level1_at = datetime.fromisoformat(by_level["L1"]["at"].replace("Z", "+00:00"))
    level2_at = datetime.fromisoformat(by_level["L2"]["at"].replace("Z", "+00:00"))
    assert deadline.astimezone().weekday() == 0 and level1_at >= deadline
    assert (level2_at - deadline).total_seconds() >= 2 * 3600 - 60  # 3 h = the 1 h deadline + 2 h
    assert level2_at.weekday() == 0  # 3 business hours still end on Monday


def test_resolving_the_ticket_stops_pending_escalations(local_app) -> None:
    # Given a ticket handled within minutes (a slower clock keeps request latency negligible)
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-23T09:00:00+08:00"), scale=1e-3))
    _, ticket = local_app.http("POST", "/tickets", {
        "type": "repair", "title": "空压机漏气", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "空压机", "location": "二号厂房"}})
    status, accepted = local_app.http("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})
    assert status == 200, accepted
    status, resolved = local_app.http("POST", f"/tickets/{ticket['id']}/actions", {
        "action": "resolve", "by": "zhangsan", "comment": "已更换密封圈",
        "fields": {"repair_cost": 120, "fault_description": "密封圈老化", "technician": "zhangsan"}})
    assert status == 200, resolved
    _wait(lambda: all(e["status"] != "RUNNING" for e in _executions(local_app, ticket["id"])))
    # When many hours pass, Then no escalation for it fires
    from wecom_oa.clock import get_clock

    set_clock(VirtualClock(get_clock().now(), scale=SCALE))
    time.sleep(0.5)  # ~7 virtual hours: a pending escalation would have fired by now
    assert not [m for m in local_app.messages() if "工单升级" in (m.get("content") or "")]


def test_the_reconciler_rearms_an_open_ticket_whose_timer_died(local_app) -> None:
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-23T09:00:00+08:00"), scale=1e-3))
    _, ticket = local_app.http("POST", "/tickets", {
        "type": "repair", "title": "冷却塔异响", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "冷却塔", "location": "屋顶"}})
    sfn = local_app.stack.client("stepfunctions")
    (running,) = _executions(local_app, ticket["id"])
    sfn.stop_execution(executionArn=running["executionArn"], cause="simulated loss")
    _wait(lambda: sfn.describe_execution(executionArn=running["executionArn"])["status"] != "RUNNING")
    # When the reconcile schedule fires, Then the next generation is armed, and only once
    first = local_app.stack.fire("ticket-reconcile")["result"]
    second = local_app.stack.fire("ticket-reconcile")["result"]
    assert (first["rearmed"], second["rearmed"]) == (1, 0)
    names = {e["name"]: e["status"] for e in _executions(local_app, ticket["id"])}
    assert names[f"{ticket['id']}-g2"] == "RUNNING"
