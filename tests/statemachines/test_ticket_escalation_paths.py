"""Path tests of statemachines/ticket_escalation.asl.json executed by moto with our handlers and a
scaled virtual clock (an hour of timers passes in well under a second)."""

from __future__ import annotations

import json
import threading
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest

from wecom_oa.clock import VirtualClock, set_clock

pytestmark = [pytest.mark.slow, pytest.mark.scaled_clock]  # run alone by make test (Makefile)
SCALE = 2e-5  # one virtual hour = 0.072 s
WAKEUP_SCALE = 2e-4  # one virtual hour = 0.72 s: for the test that checks every wake-up's instant
OVERHEAD_BUDGET = 2.0  # real seconds a whole timer run may take beyond its scaled waits


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


# -- issue 6: calendars, wall-time countdowns, pauses, duplicate timers, the accept card ------------
FAST = 5e-5  # one virtual hour = 0.18 s: enough resolution to tell Saturday from Monday


@pytest.fixture
def atomic_dynamo(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each DynamoDB request atomic, as on AWS: moto 5.2.5 evaluates a condition and writes without
    a lock, so two timers (threads) can both pass `sla_rev = :r` — a race real DynamoDB never has."""
    from wecom_oa.aws.dynamo import DynamoTable

    lock = threading.Lock()
    original = DynamoTable._call

    def call(self, operation: str, **kwargs):
        with lock:
            return original(self, operation, **kwargs)

    monkeypatch.setattr(DynamoTable, "_call", call)


def _repair(app, title: str, priority: str = "P3") -> dict:
    status, ticket = app.http("POST", "/tickets", {
        "type": "repair", "title": title, "reporter": "chenjing", "priority": priority,
        "fields": {"device_name": "设备", "location": "一号厂房"}})
    assert status == 201, ticket
    return ticket


def _act(app, ticket_id: str, body: dict) -> dict:
    status, out = app.http("POST", f"/tickets/{ticket_id}/actions", body)
    assert status == 200, out
    return out


def _get(app, ticket_id: str) -> dict:
    status, out = app.http("GET", f"/tickets/{ticket_id}")
    assert status == 200, out
    return out


def _sla_messages(app, ticket_id: str, prefix: str, clock_label: str) -> list[dict]:
    return [m for m in app.messages() if (m.get("content") or "").startswith(prefix)
            and ticket_id in m["content"] and clock_label in m["content"]]


def _at(message: dict) -> datetime:
    return datetime.fromisoformat(message["at"].replace("Z", "+00:00"))


def _local(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_given_a_friday_evening_repair_before_a_tiaoxiu_saturday_when_unanswered_then_both_levels_fire_that_saturday(
    local_app,
) -> None:
    # Given Friday 2026-02-13 17:30, and the next day is a make-up workday (调休) before Spring Festival
    saturday = date(2026, 2, 14)
    assert saturday.weekday() == 5 and chinese_calendar.is_workday(saturday)
    set_clock(VirtualClock(datetime.fromisoformat("2026-02-13T17:30:00+08:00"), scale=FAST))
    ticket = _repair(local_app, "灌装机停机")
    deadline = datetime.fromisoformat(ticket["sla"]["first_response"]["deadline"])
    # Then the 1 h business deadline counts the working Saturday morning
    assert _local(deadline).date() == saturday
    # When nobody answers
    _wait(lambda: len(_sla_messages(local_app, ticket["id"], "【工单升级 L2】", "首次响应")) == 1)
    (level1,) = _sla_messages(local_app, ticket["id"], "【工单升级 L1】", "首次响应")
    (level2,) = _sla_messages(local_app, ticket["id"], "【工单升级 L2】", "首次响应")
    # Then L1 (1 h) and L2 (3 h of business time) both fire on that Saturday, to lina then zhoujie
    assert deadline <= _at(level1) and _local(_at(level1)).date() == saturday
    assert _at(level2) - deadline >= timedelta(hours=2) and _local(_at(level2)).date() == saturday
    assert (level1["recipients"]["userids"], level2["recipients"]["userids"]) == (["lina"], ["zhoujie"])
    _act(local_app, ticket["id"], {"action": "close", "by": "zhangsan", "reason": "测试结束"})


def _duration(iso: str) -> timedelta:
    import re

    m = re.fullmatch(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?", iso)
    assert m, iso
    d, h, mi, sec = (float(x) if x else 0.0 for x in m.groups())
    return timedelta(days=d, hours=h, minutes=mi, seconds=sec)


def test_given_a_ticket_waiting_for_the_customer_when_resumed_then_the_deadline_moves_by_the_paused_time(
    local_app,
) -> None:
    # Given an urgent repair (7x24 calendar: business time is wall time) accepted by the on-call engineer
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-24T10:00:00+08:00"), scale=1e-3))
    ticket = _repair(local_app, "主控柜跳闸", priority="P1")
    _act(local_app, ticket["id"], {"action": "accept", "by": "zhangsan"})
    before = datetime.fromisoformat(_get(local_app, ticket["id"])["sla"]["resolution"]["deadline"])
    # When it waits for the customer for a few virtual minutes, then resumes
    waiting = _act(local_app, ticket["id"], {"action": "wait_customer", "by": "zhangsan", "comment": "请提供照片"})
    assert waiting["sla"]["resolution"]["paused"] is True and waiting["sla"]["resolution"]["deadline"] is None
    time.sleep(0.3)
    _act(local_app, ticket["id"], {"action": "resume", "by": "zhangsan", "comment": "已收到照片"})
    after_view = _get(local_app, ticket["id"])
    after = datetime.fromisoformat(after_view["sla"]["resolution"]["deadline"])
    # Then the deadline moved by exactly the paused time (from the ticket's own history)
    at = {e["action"]: datetime.fromisoformat(e["at"]) for e in after_view["history"]}
    paused = at["resume"] - at["wait_customer"]
    assert paused >= timedelta(minutes=4)
    # (answers give times truncated to the second, the stored ones and the durations from them are
    # exact: each side of a difference of two answered times is off by less than a second, so 2 s)
    assert abs((after - before) - paused) <= timedelta(seconds=2)
    assert abs(_duration(after_view["dwell"]["by_status"]["waiting_customer"]["wall"]) - paused) <= timedelta(seconds=2)
    _act(local_app, ticket["id"], {"action": "close", "by": "zhangsan", "reason": "测试结束"})


def _iso_duration(delta: timedelta) -> str:
    from pydantic import TypeAdapter

    return TypeAdapter(timedelta).dump_python(delta, mode="json")


def test_given_a_duplicated_timer_of_the_same_generation_then_each_sla_action_notifies_once(
    atomic_dynamo, local_app,
) -> None:
    # Given a Monday-morning repair whose timer execution is duplicated by hand (same input, other name)
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-23T09:00:00+08:00"), scale=FAST))
    ticket = _repair(local_app, "输送带跑偏")
    sfn = local_app.stack.client("stepfunctions")
    arn = local_app.stack.physical["TicketEscalationStateMachine"]["Arn"]
    sfn.start_execution(stateMachineArn=arn, name=f"{ticket['id']}-g1-dup",
                        input=json.dumps({"ticket_id": ticket["id"], "generation": 1}))
    # When the first-response escalations and the resolution warning (6.4 business hours) come due
    _wait(lambda: _sla_messages(local_app, ticket["id"], "【SLA 预警】", "解决"))
    time.sleep(0.2)
    # Then every SLA action was sent exactly once, although two timers evaluated it
    # (the first-response warning may be skipped: at this scale request latency can outrun its 48 min)
    for prefix, clock in (("【SLA 超时】", "首次响应"), ("【工单升级 L1】", "首次响应"), ("【工单升级 L2】", "首次响应"),
                          ("【SLA 预警】", "解决")):
        assert len(_sla_messages(local_app, ticket["id"], prefix, clock)) == 1, (prefix, clock)
    # And the duplicate ends itself once the ticket moves to the next generation
    _act(local_app, ticket["id"], {"action": "close", "by": "zhangsan", "reason": "测试结束"})
    _wait(lambda: all(e["status"] != "RUNNING" for e in _executions(local_app, ticket["id"])))
    statuses = {e["name"]: e["status"] for e in _executions(local_app, ticket["id"])}
    assert statuses[f"{ticket['id']}-g1-dup"] == "SUCCEEDED"


def test_given_an_assigned_ticket_when_the_handler_clicks_accept_on_the_card_then_first_response_escalations_stop(
    local_app,
) -> None:
    # Given a new repair: the tech_support dispatcher gets an interactive card with an accept button
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-23T09:00:00+08:00"), scale=1e-3))
    ticket = _repair(local_app, "激光切割机报警")
    (sent,) = [m for m in local_app.messages() if m.get("task_id") and m["card"]["main_title"]["title"] == "激光切割机报警"]
    assert sent["recipients"]["userids"] == ["zhangsan"]
    assert [b["key"] for b in sent["card"]["button_list"]] == ["accept"]
    assert ticket["id"] in sent["card"]["main_title"]["desc"]
    # When zhangsan clicks 接单
    local_app.click("zhangsan", sent["task_id"], "accept")
    # Then the ticket is accepted by the clicker and the first-response clock stopped
    accepted = _get(local_app, ticket["id"])
    assert (accepted["status"], accepted["assignee"]) == ("in_progress", "zhangsan")
    assert accepted["sla"]["first_response"]["stopped_at"] is not None
    assert [e["action"] for e in accepted["history"]] == ["create", "accept"]
    # And when the day runs on (a fast clock; the timer is re-armed by the reconciler to pick it up)
    set_clock(VirtualClock(datetime.fromisoformat(accepted["updated_at"]), scale=FAST))
    sfn = local_app.stack.client("stepfunctions")
    for e in _executions(local_app, ticket["id"]):
        if e["status"] == "RUNNING":
            sfn.stop_execution(executionArn=e["executionArn"], cause="re-arm on the fast clock")
    _wait(lambda: all(e["status"] != "RUNNING" for e in _executions(local_app, ticket["id"])))
    assert local_app.stack.fire("ticket-reconcile")["result"]["rearmed"] == 1
    _wait(lambda: _sla_messages(local_app, ticket["id"], "【SLA 预警】", "解决"))
    # Then no first-response escalation or breach fired, though their times (10:00, 12:00) passed
    assert not _sla_messages(local_app, ticket["id"], "【工单升级", "首次响应")
    assert not _sla_messages(local_app, ticket["id"], "【SLA 超时】", "首次响应")
    _act(local_app, ticket["id"], {"action": "close", "by": "zhangsan", "reason": "测试结束"})


# -- design budget: at most 3 state transitions per escalation level -------------------------------
def _history(app, execution_arn: str) -> list[dict]:
    sfn = app.stack.client("stepfunctions")
    events, kwargs = [], {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events += page["events"]
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def _sla_instants(ticket: dict) -> list[datetime]:
    """Every instant the ticket's SLA policy has something due (warnings, targets, levels), from
    the shipped policy and the team's calendar, independently of the timer."""
    from wecom_oa.tickets import service as tickets

    policy = tickets.policies().select(ticket["type"], ticket["priority"])
    calendar = tickets.calendars().for_team(ticket["team"])
    created = datetime.fromisoformat(ticket["created_at"])
    offsets = {c.target * w for c in policy.clocks.values() for w in c.warnings}
    offsets |= {c.target for c in policy.clocks.values()}
    offsets |= {level.after for c in policy.clocks.values() for level in c.escalations}
    assert all(c.time == "business" and c.calendar is None for c in policy.clocks.values())
    return sorted(calendar.add_business_time(created, offset) for offset in offsets)


def test_given_an_unanswered_repair_then_each_wakeup_costs_three_transitions_and_handles_what_is_due(
    local_app,
) -> None:
    # Given a Monday-morning repair nobody answers: first response and resolution escalate L1 and L2.
    # The timer function is warmed first: a cold first Check costs hours of this fast virtual clock
    # and would find everything of the afternoon due at once (held to the next morning).
    local_app.stack.invoke("TicketEscalationFunction", {"ticket_id": "T-warm-up", "generation": 0})
    local_app.http("GET", "/tickets/T-warm-up")  # the api function loads the tickets feature on first use
    # At SCALE a 0.2 s hiccup before the first Check is 3 virtual hours: both levels of the first
    # response would be past due at once (seen in 2 of 5 runs). At WAKEUP_SCALE it is 40 minutes.
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-23T09:00:00+08:00"), scale=WAKEUP_SCALE))
    ticket = _repair(local_app, "注塑机温控失灵")
    _wait(lambda: (ex := _executions(local_app, ticket["id"])) and all(e["status"] != "RUNNING" for e in ex),
          timeout=120)
    (execution,) = _executions(local_app, ticket["id"])
    assert execution["status"] == "SUCCEEDED"
    events = _history(local_app, execution["executionArn"])
    entered = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]
    wakeups = [datetime.fromisoformat(json.loads(e["stateExitedEventDetails"]["output"])["check"]["next_wakeup"]
                                      .replace("Z", "+00:00"))
               for e in events if e["type"] == "TaskStateExited" and e["stateExitedEventDetails"]["name"] == "Check"
               and not json.loads(e["stateExitedEventDetails"]["output"])["check"]["done"]]
    levels = [m for m in local_app.messages() if (m.get("content") or "").startswith("【工单升级 L")]

    # Then every level was notified once (two clocks × L1, L2)
    assert len(levels) == 4 and len({m["content"] for m in levels}) == 4
    # And each Check (the start, then one per wake-up) costs Check → MoreToWatch → SleepUntilDue | Finished
    checks = entered.count("Check")
    assert len(entered) <= 3 * checks + 1, entered
    assert entered.count("SleepUntilDue") == checks - 1 == len(wakeups)
    # And every wake-up is one of the SLA's due instants, each at most once: no polling, no re-checks,
    # so each level is handled by the single wake-up at its deadline (3 transitions)
    due = _sla_instants(ticket)
    # An instant right at the start of quiet hours may be checked a moment later (the virtual clock
    # runs on while the task starts): its warning is then held, and the wake-up is the hold's end.
    from wecom_oa.worktime import quiet_hours as quiet

    due += [held for d in due if (held := quiet.held_until(d + timedelta(seconds=5), ticket["priority"]))]
    assert len(set(wakeups)) == len(wakeups), wakeups
    for wakeup in wakeups:
        # (created_at is answered to the second, so an instant derived from it is within a second)
        assert any(abs(wakeup - d) <= timedelta(seconds=1) for d in due), ([str(w) for w in wakeups], [str(d) for d in due], entered)
    # And the ASL's Wait follows the virtual clock: every SleepUntilDue of an hour or more (virtual, from
    # one wake-up to the next) took well under a second of real time per virtual hour
    starts = [datetime.fromisoformat(ticket["created_at"]), *wakeups[:-1]]
    real = [(exited["timestamp"] - entered_["timestamp"]).total_seconds() for entered_, exited in zip(
        [e for e in events if e["type"] == "WaitStateEntered"], [e for e in events if e["type"] == "WaitStateExited"],
        strict=True)]
    long_waits = [(r, (w - s).total_seconds() / 3600) for r, s, w in zip(real, starts, wakeups, strict=True)
                  if w - s >= timedelta(hours=1)]
    assert long_waits and all(r < hours * 1.0 for r, hours in long_waits), long_waits


# -- upper bounds: each level fires within minutes of its business-time deadline ------------------
# The fast runs above cannot bound lateness: at SCALE one real millisecond of request latency is a
# virtual minute. Here the clock jumps to just before each deadline and runs at JUMP_SCALE, where
# TOLERANCE (5 virtual minutes) is 3 s of real time; a Check-and-send measured 0.1–1.3 s here.
JUMP_SCALE = 1e-2
LEAD = timedelta(minutes=1)
TOLERANCE = timedelta(minutes=5)


def _rearm_at(app, ticket_id: str, moment: datetime) -> None:
    """Jump the virtual clock to `moment` and re-arm the ticket's timer on it (the running timer
    sleeps on the old clock): stop it, then fire the reconcile schedule."""
    set_clock(VirtualClock(moment, scale=JUMP_SCALE))
    sfn = app.stack.client("stepfunctions")
    for e in _executions(app, ticket_id):
        if e["status"] == "RUNNING":
            sfn.stop_execution(executionArn=e["executionArn"], cause="clock jump")
    _wait(lambda: all(e["status"] != "RUNNING" for e in _executions(app, ticket_id)))
    assert app.stack.fire("ticket-reconcile")["result"] == {"rearmed": 1, "errors": 0}


@pytest.mark.parametrize(("start", "deadline_day"), [
    ("2026-11-20T17:30:00+08:00", date(2026, 11, 23)),  # Friday → the weekend → Monday
    ("2026-02-13T17:30:00+08:00", date(2026, 2, 14)),   # Friday → the 调休 Saturday before Spring Festival
], ids=["over-a-weekend", "tiaoxiu-saturday"])
def test_given_an_unanswered_friday_evening_repair_then_each_level_fires_within_minutes_after_its_deadline(
    local_app, start: str, deadline_day: date,
) -> None:
    from wecom_oa.tickets import service as tickets

    # Given a repair on Friday 17:30 (a real-time clock: its first timer stays asleep)
    set_clock(VirtualClock(datetime.fromisoformat(start), scale=1.0))
    ticket = _repair(local_app, "注塑机温控失灵")
    created = datetime.fromisoformat(ticket["created_at"])
    calendar = tickets.calendars().for_team(ticket["team"])
    for level, business_hours in ((1, 1), (2, 3)):
        due = calendar.add_business_time(created, timedelta(hours=business_hours))
        assert _local(due).date() == deadline_day
        if level == 1:
            assert due == datetime.fromisoformat(ticket["sla"]["first_response"]["deadline"])
        # When the clock reaches the level's deadline with nobody answering
        _rearm_at(local_app, ticket["id"], due - LEAD)
        prefix = f"【工单升级 L{level}】"
        _wait(lambda p=prefix: _sla_messages(local_app, ticket["id"], p, "首次响应"))
        # Then the level fires at its deadline, within TOLERANCE, exactly once
        (message,) = _sla_messages(local_app, ticket["id"], prefix, "首次响应")
        assert due <= _at(message) <= due + TOLERANCE, (level, due, message["at"])
    _act(local_app, ticket["id"], {"action": "close", "by": "zhangsan", "reason": "测试结束"})
