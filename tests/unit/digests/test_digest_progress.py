"""Production progress: plan vs actual, projection, alarm hysteresis, cool-down, validation."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wecom_oa.digests.progress import (
    ActualReport,
    AlarmState,
    ProductionPlan,
    ProgressPolicy,
    assess,
    assess_all,
    parse_progress_post,
    render_assessment,
    render_progress_lines,
    snapshot,
)
from wecom_oa.errors import InvalidInput
from wecom_oa.texts import Templates

SH = ZoneInfo("Asia/Shanghai")
POLICY = ProgressPolicy(alarm_behind_pct=10, recover_behind_pct=5, cooldown_minutes=180, worse_step_pct=5)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=SH)


PLAN = ProductionPlan(order_id="MO-1", product="电机外壳", total_qty=1000, start=at(8), end=at(18))  # 100 per hour


def test_given_linear_plan_when_snapshot_then_planned_behind_and_projection() -> None:
    snap = snapshot(PLAN, 340, at(12))
    assert snap.planned_qty == pytest.approx(400)
    assert snap.behind_pct == pytest.approx(15.0)
    assert snap.shortfall == pytest.approx(60)
    assert snap.projected_total == pytest.approx(850)  # 85 per hour over 10 hours
    assert snap.projected_end_shortfall == pytest.approx(150)
    assert snap.projected_finish == at(8) + timedelta(hours=1000 / 85)


def test_given_before_start_or_ahead_when_snapshot_then_not_behind() -> None:
    assert snapshot(PLAN, 0, at(7)).behind_pct == 0
    assert snapshot(PLAN, 500, at(12)).behind_pct < 0
    assert snapshot(PLAN, 0, at(12)).projected_finish is None


def test_given_hourly_plan_when_planned_then_follows_slots() -> None:
    plan = ProductionPlan(order_id="MO-2", total_qty=1000, start=at(8), end=at(12), hourly_plan=[
        {"hour_start": at(8), "qty": 300}, {"hour_start": at(9), "qty": 300},
        {"hour_start": at(10), "qty": 200}, {"hour_start": at(11), "qty": 200},
    ])
    assert plan.planned_at(at(9, 30)) == pytest.approx(450)
    assert plan.planned_at(at(12)) == pytest.approx(1000)
    assert plan.planned_at(at(13)) == pytest.approx(1000)


def test_given_sequence_when_assessed_then_alarm_damped_worse_band_recovered() -> None:
    state = AlarmState()
    outcomes = []
    for when, actual in [(at(10), 190), (at(11), 255), (at(12), 340), (at(12, 30), 360),
                         (at(13), 440), (at(13, 30), 506), (at(14), 580), (at(14, 30), 640)]:
        result = assess(PLAN, actual, when, state, POLICY)
        outcomes.append(result.outcome)
        state = result.state
    # 5% none; 15% alarm; 15% within cool-down damped; 20% worse by a step; 12% damped again;
    # 8% (between Y=5 and X=10) holds the alarm; 3.3% recovered; 1.5% nothing more
    assert outcomes == ["none", "alarm", "none", "alarm", "none", "none", "recovered", "none"]
    assert not state.alarming and state.last_alarm_behind_pct == pytest.approx(20.0)


def test_given_alarming_when_cooldown_passes_and_still_behind_then_alarm_repeats() -> None:
    first = assess(PLAN, 255, at(11), None, POLICY)
    assert first.outcome == "alarm"
    inside = assess(PLAN, 0.85 * PLAN.planned_at(at(13, 59)), at(13, 59), first.state, POLICY)
    after = assess(PLAN, 0.85 * PLAN.planned_at(at(14)), at(14), first.state, POLICY)
    assert (inside.outcome, after.outcome) == ("none", "alarm")
    assert after.state.last_alarm_at == at(14)


def test_given_not_alarming_when_in_band_then_no_alarm_and_no_recovered() -> None:
    result = assess(PLAN, 0.92 * 300, at(11), None, POLICY)  # 8% behind
    assert result.outcome == "none" and not result.state.alarming


def test_given_order_finished_when_alarming_then_recovered() -> None:
    alarm = assess(PLAN, 100, at(17), None, POLICY)
    done = assess(PLAN, 1000, at(18, 5), alarm.state, POLICY)
    assert (alarm.outcome, done.outcome) == ("alarm", "recovered")


def test_given_latest_actual_per_order_when_assessed_all_then_one_assessment_per_order() -> None:
    actuals = [ActualReport(order_id="MO-1", actual_qty=100, at=at(11)),
               ActualReport(order_id="MO-1", actual_qty=290, at=at(11, 30))]
    (only,) = assess_all({"MO-1": PLAN}, actuals, at(12), {}, POLICY)
    assert only.snapshot.actual_qty == 290
    with pytest.raises(InvalidInput, match="unknown order 'MO-X'"):
        assess_all({"MO-1": PLAN}, [ActualReport(order_id="MO-X", actual_qty=1)], at(12), {}, POLICY)


def test_given_negative_quantity_when_posted_then_invalid_input_names_field() -> None:
    body = {"actuals": [{"order_id": "MO-1", "actual_qty": 5}, {"order_id": "MO-1", "actual_qty": -3}]}
    with pytest.raises(InvalidInput) as caught:
        parse_progress_post(body, {"MO-1": PLAN})
    assert "actuals[1].actual_qty" in caught.value.message


def test_given_actual_for_unknown_order_when_posted_then_invalid_input_names_order() -> None:
    body = {"actuals": [{"order_id": "MO-404", "actual_qty": 5}]}
    with pytest.raises(InvalidInput, match=r"actuals\[0\]\.order_id: unknown order 'MO-404'"):
        parse_progress_post(body, {"MO-1": PLAN})
    # a plan in the same body makes the order known
    post = parse_progress_post({**body, "plans": [{**PLAN.model_dump(mode="json"), "order_id": "MO-404"}]}, {})
    assert post.actuals[0].order_id == "MO-404"


@pytest.mark.parametrize(("plan", "field"), [
    ({"total_qty": -1}, "plans[0].total_qty"),
    ({"end": "2026-11-23T07:00:00+08:00"}, "end must be after start"),
    ({"hourly_plan": [{"hour_start": "2026-11-23T08:00:00+08:00", "qty": 10}]}, "hourly_plan sums to 10"),
])
def test_given_bad_plan_when_posted_then_invalid_input_names_problem(plan: dict, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_progress_post({"plans": [{**PLAN.model_dump(mode="json"), **plan}]}, {})
    assert field in caught.value.message or field in str(caught.value.details)


def test_given_equal_alarm_and_recover_when_policy_built_then_rejected() -> None:
    with pytest.raises(ValueError, match="hysteresis"):
        ProgressPolicy(alarm_behind_pct=10, recover_behind_pct=10)


def test_given_alarm_and_recovery_when_rendered_then_chinese_with_shortfall_and_projection(templates: Templates) -> None:
    alarm = assess(PLAN, 340, at(12), None, POLICY)
    text = render_assessment(alarm, templates, SH)
    assert text is not None
    assert "生产进度告警" in text and "MO-1" in text and "落后 15.0%" in text and "差 60" in text
    assert "850 / 1,000" in text and "缺口约 150" in text and "19:45" in text
    recovered = assess(PLAN, 600, at(14), alarm.state, POLICY)
    assert "已恢复" in (render_assessment(recovered, templates, SH) or "")
    assert render_assessment(assess(PLAN, 600, at(14), None, POLICY), templates, SH) is None
    lines = render_progress_lines([alarm.snapshot, recovered.snapshot], templates, SH, group_name="一车间", now=at(14))
    assert "一车间" in lines[0] and "落后 15.0%" in lines[1]


@pytest.mark.parametrize("qty", ["9" * 127, "1e400", "inf", 1e13, float("nan")])
def test_given_a_quantity_no_factory_makes_then_the_plan_is_refused_naming_total_qty(qty) -> None:
    from pydantic import ValidationError

    from wecom_oa.digests.progress import ProductionPlan

    with pytest.raises(ValidationError, match="total_qty"):
        ProductionPlan(order_id="O-1", total_qty=qty, start="2026-11-23T08:00:00+08:00",
                       end="2026-11-23T18:00:00+08:00")
