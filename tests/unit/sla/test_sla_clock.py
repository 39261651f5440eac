"""SLA clocks over the shipped policies and calendars: escalations in business time, the complaint
countdown in wall time, pause/resume, stop, restart, and exactly-once firing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from wecom_oa.errors import ConfigurationError, IllegalTransition, InvalidInput
from wecom_oa.worktime.calendar import load_calendars
from wecom_oa.worktime.sla import SlaState, evaluate, load_sla_policies

SH = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)
CALENDARS = load_calendars()
POLICIES = load_sla_policies(calendars=CALENDARS)
DEFAULT = CALENDARS.get("default")
REPAIR = POLICIES.select("repair", "P3")
COMPLAINT = POLICIES.select("complaint", "P2")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def run_timer(policy, state, until, calendar=DEFAULT):
    """Drive the clock like the escalation state machine: wake at `next_wakeup`, fire, record, repeat.

    Returns [(key, due_at, woke_at)] in firing order and the final state.
    """
    fired = []
    now = state.started_at
    while now is not None and now <= until:
        evaluation = evaluate(policy, state, calendar, now, calendars=CALENDARS)
        fired += [(a.key, a.due_at, now) for a in evaluation.due]
        state = state.record(evaluation.due)
        now = evaluation.next_wakeup
    return fired, state


def keys_and_times(fired, clock):
    return [(key, woke.astimezone(SH)) for key, _, woke in fired if key.startswith(clock)]


def test_given_repair_created_friday_1730_when_timer_runs_then_escalates_monday_at_1h_and_3h_business():
    state = SlaState(started_at=sh(2025, 11, 21, 17, 30))

    fired, _ = run_timer(REPAIR, state, sh(2025, 11, 24, 12, 0))

    assert keys_and_times(fired, "first_response") == [
        ("first_response#1:warning:0.8", sh(2025, 11, 24, 9, 18)),
        ("first_response#1:breach", sh(2025, 11, 24, 9, 30)),
        ("first_response#1:level:1", sh(2025, 11, 24, 9, 30)),
        ("first_response#1:level:2", sh(2025, 11, 24, 11, 30)),
    ]
    assert all(due == woke for _, due, woke in fired)


def test_given_escalation_levels_when_due_then_targets_are_handler_leaders_level_1_and_2():
    evaluation = evaluate(REPAIR, SlaState(started_at=sh(2025, 11, 21, 17, 30)), DEFAULT, sh(2025, 11, 24, 11, 30))

    levels = {a.level: a.notify for a in evaluation.due if a.kind == "escalation" and a.clock == "first_response"}
    assert [(t.kind, t.level) for t in levels[1]] == [("handler_leader", 1)]
    assert [(t.kind, t.level) for t in levels[2]] == [("handler_leader", 2)]


def test_given_repair_before_a_makeup_saturday_when_timer_runs_then_the_saturday_counts():
    # 2026-02-14 (Saturday) is a 调休 workday before the Spring Festival holiday.
    fired, _ = run_timer(REPAIR, SlaState(started_at=sh(2026, 2, 13, 17, 30)), sh(2026, 2, 14, 18, 0))

    levels = [(k, t) for k, t in keys_and_times(fired, "first_response") if ":level:" in k]
    assert levels == [
        ("first_response#1:level:1", sh(2026, 2, 14, 9, 30)),
        ("first_response#1:level:2", sh(2026, 2, 14, 11, 30)),
    ]


def test_given_repair_before_a_plain_weekend_and_holiday_when_evaluated_then_deadline_explains_why():
    evaluation = evaluate(REPAIR, SlaState(started_at=sh(2025, 12, 31, 17, 30)), DEFAULT, sh(2025, 12, 31, 17, 31))

    clock = evaluation.clocks["first_response"]
    assert clock.deadline == sh(2026, 1, 4, 9, 30)
    assert "已跳过元旦" in clock.explanation and "调休" in clock.explanation
    assert evaluation.next_wakeup == sh(2026, 1, 4, 9, 18)


def test_given_complaint_created_before_national_day_when_timer_runs_then_24h_wall_countdown():
    created = sh(2025, 9, 30, 20, 0)

    fired, _ = run_timer(COMPLAINT, SlaState(started_at=created), created + 40 * HOUR)

    assert keys_and_times(fired, "resolution") == [
        ("resolution#1:warning:0.5", created + 12 * HOUR),
        ("resolution#1:warning:0.8", created + timedelta(hours=19, minutes=12)),
        ("resolution#1:breach", created + 24 * HOUR),
        ("resolution#1:level:1", created + 24 * HOUR),
        ("resolution#1:level:2", created + 36 * HOUR),
    ]
    status = evaluate(COMPLAINT, SlaState(started_at=created), DEFAULT, created + HOUR).clocks["resolution"]
    assert status.time == "wall"
    assert "自然时间" in status.explanation


def test_given_complaint_waiting_for_customer_when_evaluated_then_the_countdown_is_not_paused():
    created = sh(2025, 11, 20, 10, 0)
    state = SlaState(started_at=created).apply_action(COMPLAINT, "wait_customer", created + HOUR)
    state = state.pause("resolution", created + 2 * HOUR)

    status = evaluate(COMPLAINT, state, DEFAULT, created + 3 * HOUR).clocks["resolution"]

    assert status.deadline == created + 24 * HOUR
    assert status.paused is False


def test_given_resolution_paused_for_a_day_when_resumed_then_deadline_moves_by_the_paused_business_time():
    created = sh(2025, 11, 17, 9, 0)
    paused_at, resumed_at = sh(2025, 11, 17, 10, 0), sh(2025, 11, 18, 10, 0)
    before = evaluate(REPAIR, SlaState(started_at=created), DEFAULT, paused_at).clocks["resolution"].deadline

    state = SlaState(started_at=created).apply_action(REPAIR, "wait_customer", paused_at)
    during = evaluate(REPAIR, state, DEFAULT, sh(2025, 11, 17, 17, 0))
    state = state.apply_action(REPAIR, "resume", resumed_at)
    after = evaluate(REPAIR, state, DEFAULT, resumed_at).clocks["resolution"]

    assert before == sh(2025, 11, 17, 18, 0)
    assert during.clocks["resolution"].deadline is None and during.clocks["resolution"].paused
    assert during.clocks["resolution"].elapsed == HOUR
    assert "暂停" in during.clocks["resolution"].explanation
    assert after.deadline == DEFAULT.add_business_time(before, DEFAULT.business_time_between(paused_at, resumed_at))
    assert after.deadline == sh(2025, 11, 18, 18, 0)
    assert "另顺延暂停时间 8 小时" in after.explanation
    # first_response is not pausable: its clock ran on.
    assert evaluate(REPAIR, state, DEFAULT, resumed_at).clocks["first_response"].breached


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(min_value=0, max_value=300 * 24 * 60),
    pause_after=st.integers(min_value=0, max_value=16 * 60),
    pause_length=st.integers(min_value=0, max_value=5 * 24 * 60),
)
def test_given_any_pause_before_the_deadline_when_resumed_then_no_paused_time_is_lost(start, pause_after, pause_length):
    created = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(minutes=start)
    state = SlaState(started_at=created)
    original = evaluate(REPAIR, state, DEFAULT, created).clocks["resolution"].deadline
    paused_at = created + timedelta(minutes=pause_after)
    resumed_at = paused_at + timedelta(minutes=pause_length)
    assume(paused_at < original)

    state = state.pause("resolution", paused_at).resume("resolution", resumed_at)
    moved = evaluate(REPAIR, state, DEFAULT, resumed_at).clocks["resolution"]

    paused_business = DEFAULT.business_time_between(paused_at, resumed_at)
    if paused_business:
        assert moved.deadline == DEFAULT.add_business_time(original, paused_business)
    else:
        assert moved.deadline == original
    assert DEFAULT.business_time_between(created, moved.deadline) - paused_business == REPAIR.clocks["resolution"].target


def test_given_accept_before_the_deadline_when_timer_runs_then_no_first_response_escalation_fires():
    created = sh(2025, 11, 21, 17, 30)
    state = SlaState(started_at=created).apply_action(REPAIR, "accept", sh(2025, 11, 24, 9, 10))

    fired, _ = run_timer(REPAIR, state, sh(2025, 11, 26, 18, 0))
    evaluation = evaluate(REPAIR, state, DEFAULT, sh(2025, 11, 24, 12, 0))

    assert keys_and_times(fired, "first_response") == []
    assert evaluation.clocks["first_response"].breached is False
    assert evaluation.clocks["first_response"].elapsed == timedelta(minutes=40)
    assert "停止" in evaluation.clocks["first_response"].explanation


def test_given_resolve_after_a_missed_wakeup_when_evaluated_then_pending_levels_never_fire():
    created = sh(2025, 11, 17, 9, 0)
    state = SlaState(started_at=created).apply_action(REPAIR, "accept", created + HOUR / 2)
    state = state.apply_action(REPAIR, "resolve", sh(2025, 11, 18, 17, 0))

    evaluation = evaluate(REPAIR, state, DEFAULT, sh(2025, 11, 20, 12, 0))

    assert evaluation.due == []
    assert evaluation.next_wakeup is None
    assert evaluation.clocks["resolution"].breached is True  # resolved 15 business hours in, target 8


def test_given_late_evaluation_when_recorded_then_evaluating_again_fires_nothing_and_stale_warning_is_dropped():
    state = SlaState(started_at=sh(2025, 11, 21, 17, 30))
    late = sh(2025, 11, 24, 12, 0)

    first = evaluate(REPAIR, state, DEFAULT, late)
    state = state.record(first.due)
    again = evaluate(REPAIR, state, DEFAULT, late)
    later = evaluate(REPAIR, state, DEFAULT, sh(2025, 11, 24, 14, 0))

    assert [a.key for a in first.due if a.clock == "first_response"] == [
        "first_response#1:breach",
        "first_response#1:level:1",
        "first_response#1:level:2",
    ]
    assert again.due == []
    assert [a.key for a in later.due] == []
    assert again.next_wakeup == later.next_wakeup == sh(2025, 11, 24, 15, 54)  # resolution warning 80 %


def test_given_resolution_clock_when_80_percent_used_then_one_warning_and_not_before():
    created = sh(2025, 11, 17, 9, 0)  # 8 h business → warning after 6 h 24 min: 16:24
    state = SlaState(started_at=created).apply_action(REPAIR, "accept", created + HOUR / 2)

    just_before = evaluate(REPAIR, state, DEFAULT, sh(2025, 11, 17, 16, 23))
    at_80 = evaluate(REPAIR, state, DEFAULT, sh(2025, 11, 17, 16, 24))

    assert just_before.due == [] and just_before.next_wakeup == sh(2025, 11, 17, 16, 24)
    assert [(a.kind, a.threshold) for a in at_80.due] == [("warning", 0.8)]


def test_given_transfer_restarts_first_response_when_timer_runs_then_the_new_cycle_escalates_again():
    created = sh(2025, 11, 17, 9, 0)
    fired, state = run_timer(REPAIR, SlaState(started_at=created), sh(2025, 11, 17, 12, 0))
    transferred = state.apply_change("start", "response", sh(2025, 11, 17, 14, 0))

    again, _ = run_timer(REPAIR, transferred, sh(2025, 11, 17, 15, 0))
    status = evaluate(REPAIR, transferred, DEFAULT, sh(2025, 11, 17, 15, 0)).clocks["first_response"]

    assert "first_response#1:level:1" in [k for k, _, _ in fired]
    assert ("first_response#2:level:1", sh(2025, 11, 17, 15, 0)) in keys_and_times(again, "first_response#2")
    assert status.cycle == 2 and status.started_at == sh(2025, 11, 17, 14, 0)
    assert transferred.apply_change("start", "first_response", sh(2025, 11, 17, 14, 0)) == transferred


def test_given_resolved_then_reopened_when_evaluated_then_the_resolved_gap_is_not_counted():
    created = sh(2025, 11, 17, 9, 0)
    state = SlaState(started_at=created).apply_change("stop", "resolution", sh(2025, 11, 17, 11, 0))
    state = state.apply_change("resume", "resolution", sh(2025, 11, 18, 9, 0))

    status = evaluate(REPAIR, state, DEFAULT, sh(2025, 11, 18, 10, 0)).clocks["resolution"]

    assert status.elapsed == 3 * HOUR
    assert status.deadline == sh(2025, 11, 18, 16, 0)
    assert status.stopped_at is None


def test_given_urgent_repair_on_7x24_calendar_when_evaluated_then_night_time_counts():
    urgent = POLICIES.select("repair", "P1")
    created = sh(2025, 10, 1, 23, 0)

    evaluation = evaluate(urgent, SlaState(started_at=created), DEFAULT, created, calendars=CALENDARS)

    assert evaluation.clocks["first_response"].deadline == created + HOUR / 2
    assert evaluation.clocks["first_response"].calendar == "7x24"
    with pytest.raises(ConfigurationError, match="7x24"):
        evaluate(urgent, SlaState(started_at=created), DEFAULT, created)


def test_given_illegal_clock_changes_when_applied_then_typed_errors():
    state = SlaState(started_at=sh(2025, 11, 17, 9, 0)).pause("resolution", sh(2025, 11, 17, 10, 0))

    with pytest.raises(IllegalTransition):
        state.pause("resolution", sh(2025, 11, 17, 11, 0))
    with pytest.raises(IllegalTransition):
        state.resume("first_response", sh(2025, 11, 17, 11, 0))
    with pytest.raises(InvalidInput):
        state.resume("resolution", sh(2025, 11, 17, 9, 30))
    with pytest.raises(InvalidInput):
        state.stop("resolution", datetime(2025, 11, 17, 12, 0))
    with pytest.raises(InvalidInput):
        evaluate(REPAIR, state, DEFAULT, datetime(2025, 11, 17, 12, 0))


def test_given_a_state_when_serialised_and_loaded_then_evaluation_is_identical():
    state = SlaState(started_at=sh(2025, 11, 17, 9, 0)).pause("resolution", sh(2025, 11, 17, 10, 0))
    state = state.resume("resolution", sh(2025, 11, 17, 15, 0)).record(
        evaluate(REPAIR, state, DEFAULT, sh(2025, 11, 17, 16, 0)).due
    )

    loaded = SlaState.model_validate_json(state.model_dump_json())

    now = sh(2025, 11, 18, 16, 0)
    assert evaluate(REPAIR, loaded, DEFAULT, now) == evaluate(REPAIR, state, DEFAULT, now)
