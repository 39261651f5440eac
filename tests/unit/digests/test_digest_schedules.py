"""Schedule specs: EventBridge cron/rate grammar, timezones, fire times, period keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from wecom_oa.digests.schedules import (
    CronExpression,
    InvalidSchedule,
    ScheduleSpec,
    load_digest_config,
    next_fire_times,
    parse_expression,
    period_key,
    previous_fire_time,
    should_fire,
)
from wecom_oa.errors import ConfigurationError, InvalidInput

from .conftest import FIXTURES, FakeCalendar

CASES = yaml.safe_load((FIXTURES / "cron_cases.yaml").read_text(encoding="utf-8"))
SH = ZoneInfo("Asia/Shanghai")


def spec(expression: str, name: str = "test-schedule", tz: str = "Asia/Shanghai", **extra: object) -> ScheduleSpec:
    return ScheduleSpec(name=name, expression=expression, timezone=tz, digest="ticket_reconcile", **extra)


# ---- grammar -----------------------------------------------------------------------------------


@pytest.mark.parametrize("expression", CASES["valid"])
def test_given_valid_eventbridge_expression_when_parsed_then_accepted(expression: str) -> None:
    assert parse_expression(expression, schedule="s") is not None


@pytest.mark.parametrize(("expression", "problem"), CASES["invalid"])
def test_given_invalid_expression_when_parsed_then_error_names_schedule_and_problem(expression: str, problem: str) -> None:
    with pytest.raises(InvalidSchedule) as caught:
        parse_expression(expression, schedule="my-schedule")
    assert "'my-schedule'" in caught.value.message
    assert problem in caught.value.message
    assert isinstance(caught.value, InvalidInput)


def test_given_both_day_fields_set_when_spec_built_then_rejected_naming_it() -> None:
    with pytest.raises(InvalidSchedule, match="exactly one of day-of-month and day-of-week"):
        spec("cron(0 18 * * MON-FRI *)", name="weekday-digest")


def test_given_unknown_timezone_when_spec_built_then_error_names_schedule_and_timezone() -> None:
    with pytest.raises(InvalidSchedule, match=r"'tz-digest'.*Mars/Olympus"):
        spec("rate(1 hour)", name="tz-digest", tz="Mars/Olympus")


@pytest.mark.parametrize("tz", ["", "../etc/passwd", "/etc/localtime"])
def test_given_path_like_timezone_when_spec_built_then_rejected(tz: str) -> None:
    with pytest.raises(InvalidSchedule):
        spec("rate(1 hour)", tz=tz)


def test_given_daily_summary_without_daily_in_name_when_built_then_rejected() -> None:
    with pytest.raises(ValueError, match="must contain 'daily'"):
        ScheduleSpec(name="evening-summary", expression="cron(0 18 ? * * *)", digest="daily_summary")


def test_given_bad_schedule_name_when_built_then_rejected() -> None:
    with pytest.raises(ValueError, match="name must be"):
        spec("rate(1 hour)", name="日报 提醒")


# ---- config file --------------------------------------------------------------------------------


def test_given_shipped_config_when_loaded_then_seed_schedules_present() -> None:
    config = load_digest_config()
    names = {s.name: s for s in config.schedules}
    assert {"daily-summary", "production-progress-hourly", "missing-reports-daily", "notice-followup",
            "approval-reconcile", "ticket-reconcile"} <= set(names)
    daily = names["daily-summary"]
    assert daily.expression == "cron(0 18 ? * * *)" and daily.timezone == "Asia/Shanghai"
    assert daily.workdays_only and daily.only_if_non_empty
    assert names["production-progress-hourly"].expression == "cron(0 8-20 ? * * *)"
    assert config.progress.recover_behind_pct < config.progress.alarm_behind_pct
    assert config.reports.consecutive_workdays == 3


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "digests.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_given_config_with_bad_cron_when_loaded_then_configuration_error_names_file_and_schedule(tmp_path: Path) -> None:
    path = _write(tmp_path, {"schedules": [
        {"name": "ok-one", "expression": "rate(1 hour)", "digest": "ticket_reconcile"},
        {"name": "broken-one", "expression": "cron(0 25 ? * * *)", "digest": "ticket_reconcile"},
    ]})
    with pytest.raises(ConfigurationError) as caught:
        load_digest_config(path)
    assert "digests.yaml" in caught.value.message
    assert "'broken-one'" in caught.value.message and "hours" in caught.value.message


def test_given_config_with_unknown_field_when_loaded_then_error_names_schedule_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, {"schedules": [
        {"name": "typo-one", "expression": "rate(1 hour)", "digest": "ticket_reconcile", "only_if_nonempty": True},
    ]})
    with pytest.raises(ConfigurationError, match=r"schedule 'typo-one' field only_if_nonempty"):
        load_digest_config(path)


def test_given_duplicate_names_when_loaded_then_rejected(tmp_path: Path) -> None:
    entry = {"name": "twice", "expression": "rate(1 hour)", "digest": "ticket_reconcile"}
    with pytest.raises(ConfigurationError, match="duplicate schedule names: twice"):
        load_digest_config(_write(tmp_path, {"schedules": [entry, entry]}))


def test_given_inverted_hysteresis_band_when_loaded_then_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, {"schedules": [], "progress": {"alarm_behind_pct": 5, "recover_behind_pct": 10}})
    with pytest.raises(ConfigurationError, match="recover_behind_pct must be below"):
        load_digest_config(path)


# ---- fire times -----------------------------------------------------------------------------------


def test_given_daily_18_shanghai_when_next_fires_then_10_utc_every_day() -> None:
    fires = next_fire_times(spec("cron(0 18 ? * * *)"), datetime(2026, 11, 23, 9, 59, tzinfo=UTC), 3)
    assert [f.astimezone(UTC) for f in fires] == [datetime(2026, 11, 23 + k, 10, 0, tzinfo=UTC) for k in range(3)]
    assert all(f.tzinfo == SH and f.hour == 18 for f in fires)


def test_given_fire_time_itself_when_next_fires_then_strictly_after() -> None:
    at = datetime(2026, 11, 23, 18, 0, tzinfo=SH)
    assert next_fire_times(spec("cron(0 18 ? * * *)"), at, 1) == [at + timedelta(days=1)]


def test_given_hourly_working_hours_when_next_fires_then_8_to_20_then_next_morning() -> None:
    fires = next_fire_times(spec("cron(0 8-20 ? * * *)"), datetime(2026, 11, 23, 19, 30, tzinfo=SH), 3)
    assert [(f.day, f.hour) for f in fires] == [(23, 20), (24, 8), (24, 9)]


@pytest.mark.parametrize(("expression", "after", "expected"), [
    ("cron(0 9 L * ? *)", date(2028, 2, 1), date(2028, 2, 29)),  # leap-year last day
    ("cron(0 9 LW * ? *)", date(2026, 5, 1), date(2026, 5, 29)),  # May 31 2026 is a Sunday
    ("cron(0 9 15W * ? *)", date(2026, 8, 1), date(2026, 8, 14)),  # Aug 15 2026 is a Saturday
    ("cron(0 9 1W * ? *)", date(2026, 8, 1), date(2026, 8, 3)),  # Aug 1 2026 is a Saturday: Monday the 3rd
    ("cron(0 9 ? * 6#3 *)", date(2026, 11, 1), date(2026, 11, 20)),  # third Friday (6 = FRI)
    ("cron(0 9 ? * 5L *)", date(2026, 11, 1), date(2026, 11, 26)),  # last Thursday
    ("cron(0 9 ? * 1 *)", date(2026, 11, 23), date(2026, 11, 29)),  # 1 = SUN
    ("cron(0 9 ? * L *)", date(2026, 11, 23), date(2026, 11, 28)),  # L = SAT
    ("cron(0 9 29 FEB ? *)", date(2026, 3, 1), date(2028, 2, 29)),
])
def test_given_special_day_rules_when_next_fire_then_matches_eventbridge_meaning(
    expression: str, after: date, expected: date
) -> None:
    start = datetime.combine(after, datetime.min.time(), tzinfo=SH)
    (fire,) = next_fire_times(spec(expression), start, 1)
    assert fire.date() == expected and (fire.hour, fire.minute) == (9, 0)


def test_given_expression_that_never_fires_when_next_fires_then_empty() -> None:
    assert next_fire_times(spec("cron(0 9 30 FEB ? *)"), datetime(2026, 1, 1, tzinfo=UTC), 2) == []


def test_given_last_year_when_next_fires_then_stops_at_2199() -> None:
    fires = next_fire_times(spec("cron(0 0 1 JAN ? 2198-2199)"), datetime(2100, 1, 1, tzinfo=UTC), 5)
    assert [f.year for f in fires] == [2198, 2199]


def test_given_spring_forward_when_time_missing_then_skipped_and_fall_back_fires_once() -> None:
    ny = spec("cron(30 1-2 ? * * *)", tz="America/New_York")
    spring = next_fire_times(ny, datetime(2026, 3, 8, 0, 0, tzinfo=ZoneInfo("America/New_York")), 3)
    assert [(f.day, f.hour) for f in spring] == [(8, 1), (9, 1), (9, 2)]  # 02:30 on Mar 8 does not exist
    fall = next_fire_times(ny, datetime(2026, 11, 1, 0, 0, tzinfo=ZoneInfo("America/New_York")), 3)
    # 01:30 EDT (05:30Z) once, not again at 01:30 EST; 02:30 EST (07:30Z); next day 01:30 EST (06:30Z)
    assert [f.astimezone(UTC).hour for f in fall] == [5, 7, 6]


def test_given_naive_after_when_next_fires_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        next_fire_times(spec("rate(1 hour)"), datetime(2026, 1, 1), 1)


def test_given_rate_when_next_fires_then_fixed_steps_from_anchor() -> None:
    rate = spec("rate(15 minutes)")
    fires = next_fire_times(rate, datetime(2026, 11, 23, 14, 7, tzinfo=SH), 3)
    assert [(f.hour, f.minute) for f in fires] == [(14, 15), (14, 30), (14, 45)]
    anchored = spec("rate(2 hours)", start=datetime(2026, 11, 23, 9, 5, tzinfo=SH))
    assert [f.hour for f in next_fire_times(anchored, datetime(2026, 11, 23, 0, 0, tzinfo=SH), 3)] == [9, 11, 13]


# hypothesis: every fire time satisfies the expression and the sequence increases strictly.
_EXPRS = [c for c in CASES["valid"] if c.startswith("cron(")]


@settings(max_examples=60, deadline=None)
@given(expression=st.sampled_from(_EXPRS),
       after=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2031, 1, 1), timezones=st.just(UTC)))
def test_property_fires_match_expression_and_increase(expression: str, after: datetime) -> None:
    s = spec(expression)
    parsed = s.parsed
    assert isinstance(parsed, CronExpression)
    fires = next_fire_times(s, after, 4)
    assert all(a < b for a, b in zip([after, *fires], fires, strict=False))
    for f in fires:
        assert f.minute in parsed.minutes and f.hour in parsed.hours and parsed.matches_day(f.date())
        assert previous_fire_time(s, f) == f
    if len(fires) >= 2:
        assert previous_fire_time(s, fires[1] - timedelta(seconds=1)) == fires[0]


# ---- period keys and workday gating ---------------------------------------------------------------


def test_given_daily_summary_when_fired_on_time_late_or_slightly_early_then_same_day_key() -> None:
    daily = spec("cron(0 18 ? * * *)", name="daily-summary")
    on_time = datetime(2026, 11, 23, 10, 0, 3, tzinfo=UTC)
    keys = {period_key(daily, on_time + delta) for delta in (timedelta(0), timedelta(minutes=40), timedelta(seconds=-30))}
    assert keys == {"daily-summary:2026-11-23"}
    assert period_key(daily, on_time + timedelta(days=1)) == "daily-summary:2026-11-24"


def test_given_hourly_schedule_when_period_key_then_local_hour_bucket() -> None:
    hourly = spec("cron(0 8-20 ? * * *)", name="production-progress-hourly")
    assert period_key(hourly, datetime(2026, 11, 23, 6, 0, 12, tzinfo=UTC)) == "production-progress-hourly:2026-11-23T14"
    assert period_key(hourly, datetime(2026, 11, 23, 6, 58, tzinfo=UTC)) == "production-progress-hourly:2026-11-23T14"
    # within the one-minute grace before 15:00 the delivery counts for the 15:00 fire
    assert period_key(hourly, datetime(2026, 11, 23, 6, 59, 30, tzinfo=UTC)) == "production-progress-hourly:2026-11-23T15"


def test_given_quarter_hour_rate_when_period_key_then_minute_of_the_fire() -> None:
    quarter = spec("rate(15 minutes)", name="notice-followup")
    assert period_key(quarter, datetime(2026, 11, 23, 14, 16, 30, tzinfo=SH)) == "notice-followup:2026-11-23T14:15"
    assert period_key(quarter, datetime(2026, 11, 23, 14, 29, 30, tzinfo=SH)) == "notice-followup:2026-11-23T14:30"


def test_given_explicit_period_when_key_then_it_wins() -> None:
    s = spec("rate(10 minutes)", name="ticket-reconcile", period="day")
    assert period_key(s, datetime(2026, 11, 23, 23, 0, tzinfo=UTC)) == "ticket-reconcile:2026-11-24"


def test_given_workdays_only_when_holiday_then_no_fire_and_makeup_saturday_fires(calendar: FakeCalendar) -> None:
    s = spec("cron(0 18 ? * * *)", workdays_only=True)
    assert not should_fire(s, calendar, datetime(2026, 10, 2, 10, 0, tzinfo=UTC))  # National Day
    assert should_fire(s, calendar, datetime(2026, 10, 10, 10, 0, tzinfo=UTC))  # 调休 Saturday
    assert not should_fire(s, calendar, datetime(2026, 10, 11, 10, 0, tzinfo=UTC))  # ordinary Sunday
    # 23:30 UTC on Friday is already Saturday in Shanghai: the local date decides.
    assert not should_fire(s, calendar, datetime(2026, 11, 27, 23, 30, tzinfo=UTC))
    assert should_fire(spec("rate(1 hour)"), calendar, datetime(2026, 10, 2, 10, 0, tzinfo=UTC))
    assert not should_fire(spec("rate(1 hour)", enabled=False), calendar, datetime(2026, 10, 9, 1, 0, tzinfo=UTC))
