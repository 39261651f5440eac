"""Named cases for the business calendar: weekends, lunch, 调休 workdays, holidays, 7×24, overrides,
unknown years, DST, and the Chinese deadline explanation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.worktime.calendar import BusinessCalendar, CalendarConfig, load_calendars

SH = ZoneInfo("Asia/Shanghai")
HOUR = timedelta(hours=1)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.fixture(scope="module")
def calendars():
    return load_calendars()


@pytest.fixture(scope="module")
def default(calendars) -> BusinessCalendar:
    return calendars.get("default")


def test_given_the_shipped_default_when_a_deadline_crosses_into_2027_then_weekdays_apply_and_new_year_is_off(default):
    # Thu 2026-12-31 17:00 + 2 h: 1 h on Thursday, 2027-01-01 (元旦) off, weekend off → Mon 2027-01-04 10:00
    assert default.add_business_time(sh(2026, 12, 31, 17, 0), 2 * HOUR) == sh(2027, 1, 4, 10, 0)


def test_given_friday_1730_when_adding_one_hour_then_deadline_is_monday_0930(default):
    assert default.add_business_time(sh(2025, 11, 21, 17, 30), HOUR) == sh(2025, 11, 24, 9, 30)


def test_given_a_deadline_when_returned_then_it_is_utc(default):
    deadline = default.add_business_time(sh(2025, 11, 21, 17, 30), HOUR)

    assert deadline.tzinfo is UTC
    assert deadline == datetime(2025, 11, 24, 1, 30, tzinfo=UTC)


def test_given_1130_when_adding_one_hour_then_lunch_is_skipped(default):
    assert default.add_business_time(sh(2025, 11, 20, 11, 30), HOUR) == sh(2025, 11, 20, 13, 30)


def test_given_1700_when_adding_one_hour_then_deadline_is_the_window_end_not_next_morning(default):
    assert default.add_business_time(sh(2025, 11, 20, 17, 0), HOUR) == sh(2025, 11, 20, 18, 0)


def test_given_friday_before_national_day_makeup_sunday_when_adding_then_sunday_0928_counts(default):
    # 2025-09-28 is a Sunday and a 调休 workday (National Day); 09-27 is a plain Saturday.
    assert default.add_business_time(sh(2025, 9, 26, 17, 30), HOUR) == sh(2025, 9, 28, 9, 30)


def test_given_new_year_eve_when_adding_then_holiday_skipped_and_makeup_sunday_0104_counts(default):
    # 2026-01-01..03 holiday, 2026-01-04 (Sunday) is a 调休 workday.
    assert default.add_business_time(sh(2025, 12, 31, 17, 30), HOUR) == sh(2026, 1, 4, 9, 30)


def test_given_last_day_before_national_day_when_adding_then_the_whole_golden_week_is_skipped(default):
    assert default.add_business_time(sh(2025, 9, 30, 17, 0), 2 * HOUR) == sh(2025, 10, 9, 10, 0)


def test_given_spring_festival_2026_when_measuring_the_week_then_only_the_makeup_saturday_counts(default):
    # 2026-02-14 (Saturday) is a 调休 workday, 02-15..02-23 the Spring Festival holiday.
    assert default.business_time_between(sh(2026, 2, 14, 0, 0), sh(2026, 2, 24, 0, 0)) == 8 * HOUR


def test_given_2025_when_counting_working_days_then_matches_chinese_calendar(default):
    import chinese_calendar

    expected = len(chinese_calendar.get_workdays(date(2025, 1, 1), date(2025, 12, 31)))
    measured = default.business_time_between(sh(2025, 1, 1, 0, 0), sh(2026, 1, 1, 0, 0))

    assert measured == expected * 8 * HOUR


def test_given_a_start_at_night_when_adding_zero_then_next_working_instant(default):
    assert default.add_business_time(sh(2025, 11, 20, 22, 0), timedelta(0)) == sh(2025, 11, 21, 9, 0)
    assert default.next_working_instant(sh(2025, 11, 20, 10, 15)) == sh(2025, 11, 20, 10, 15)


def test_given_window_bounds_when_checking_working_time_then_start_inclusive_end_exclusive(default):
    assert default.is_working_time(sh(2025, 11, 20, 9, 0))
    assert not default.is_working_time(sh(2025, 11, 20, 12, 0))
    assert not default.is_working_time(sh(2025, 10, 1, 10, 0))
    assert default.is_working_time(sh(2025, 9, 28, 10, 0))


def test_given_naive_or_negative_input_when_computing_then_invalid_input(default):
    with pytest.raises(InvalidInput):
        default.add_business_time(datetime(2025, 11, 20, 9, 0), HOUR)
    with pytest.raises(InvalidInput):
        default.add_business_time(sh(2025, 11, 20, 9, 0), -HOUR)
    with pytest.raises(InvalidInput):
        default.business_time_between(sh(2025, 11, 20, 9, 0), datetime(2025, 11, 21))


def test_given_7x24_calendar_when_adding_then_wall_time_over_holidays(calendars):
    always = calendars.get("7x24")

    assert always.add_business_time(sh(2025, 9, 30, 20, 0), 24 * HOUR) == sh(2025, 10, 1, 20, 0)
    assert always.business_time_between(sh(2025, 10, 1), sh(2025, 10, 8)) == timedelta(days=7)
    assert always.is_working_time(sh(2025, 10, 1, 3, 0))


def test_given_team_override_when_saturday_then_half_day_and_company_holiday_skipped(calendars):
    factory = calendars.for_team("factory-support")

    # Saturday 2025-11-22 works 08:00–12:00 only.
    assert factory.add_business_time(sh(2025, 11, 22, 11, 0), 2 * HOUR) == sh(2025, 11, 24, 9, 0)
    # 2026-02-13 is a company holiday; 2026-02-14 a 调休 Saturday that works the full day.
    assert factory.add_business_time(sh(2026, 2, 12, 17, 0), 5 * HOUR) == sh(2026, 2, 14, 14, 0)
    assert calendars.for_team("unknown-team").name == "default"
    assert calendars.for_team("noc").config.always_on


def test_given_year_without_data_when_asked_then_configuration_error_names_the_fix():
    strict = BusinessCalendar(CalendarConfig(unknown_year_policy="error"))
    with pytest.raises(ConfigurationError) as err:
        strict.add_business_time(sh(2026, 12, 31, 17, 0), 2 * HOUR)

    assert "2027" in err.value.message
    assert "override_years" in err.value.message


def test_given_range_ending_in_last_covered_year_when_measuring_then_next_year_is_not_asked(default):
    assert default.business_time_between(sh(2026, 12, 31, 9, 0), sh(2026, 12, 31, 23, 0)) == 8 * HOUR


def test_given_override_year_when_computing_then_the_config_lists_decide():
    calendar = BusinessCalendar(
        CalendarConfig(
            extra_holidays=[{"date": "2027-01-01", "name": "元旦"}],
            extra_workdays=["2027-01-02"],
            override_years=[2027],
        )
    )

    assert calendar.add_business_time(sh(2026, 12, 31, 17, 0), 2 * HOUR) == sh(2027, 1, 2, 10, 0)
    assert calendar.day_info(date(2027, 1, 1)).name == "元旦"


def test_given_weekdays_policy_when_year_unknown_then_weekdays_rule_applies():
    calendar = BusinessCalendar(CalendarConfig(unknown_year_policy="weekdays"))

    assert calendar.add_business_time(sh(2027, 1, 1, 17, 0), 2 * HOUR) == sh(2027, 1, 4, 10, 0)


def test_given_extra_lists_in_covered_year_when_computing_then_they_override_chinese_calendar():
    calendar = BusinessCalendar(CalendarConfig(extra_holidays=["2025-11-21"], extra_workdays=["2025-11-22"]))

    assert not calendar.is_workday(date(2025, 11, 21))
    assert calendar.add_business_time(sh(2025, 11, 20, 17, 0), 2 * HOUR) == sh(2025, 11, 22, 10, 0)


def test_given_calendar_without_working_days_when_adding_then_configuration_error_not_a_hang():
    calendar = BusinessCalendar(CalendarConfig(weekdays=[], chinese_holidays=False))

    with pytest.raises(ConfigurationError, match="no working time"):
        calendar.add_business_time(sh(2025, 1, 1), HOUR)


def test_given_berlin_dst_switch_when_measuring_a_24_hour_day_window_then_real_hours_count():
    berlin = ZoneInfo("Europe/Berlin")
    calendar = BusinessCalendar(
        CalendarConfig(
            timezone="Europe/Berlin",
            windows=[{"start": "00:00", "end": "24:00"}],
            weekdays=[1, 2, 3, 4, 5, 6, 7],
            chinese_holidays=False,
        )
    )
    spring, autumn = datetime(2026, 3, 29, tzinfo=berlin), datetime(2026, 10, 25, tzinfo=berlin)

    assert calendar.business_time_between(spring, spring + timedelta(days=1)) == 23 * HOUR
    assert calendar.business_time_between(autumn, autumn + timedelta(days=1)) == 25 * HOUR


def test_given_berlin_office_hours_when_crossing_dst_weekend_then_local_0900_is_kept():
    berlin = ZoneInfo("Europe/Berlin")
    calendar = BusinessCalendar(
        CalendarConfig(timezone="Europe/Berlin", windows=[{"start": "09:00", "end": "17:00"}], chinese_holidays=False)
    )

    deadline = calendar.add_business_time(datetime(2026, 3, 27, 16, 0, tzinfo=berlin), 2 * HOUR)

    assert deadline == datetime(2026, 3, 30, 10, 0, tzinfo=berlin)
    assert deadline.utcoffset() == timedelta(0)
    assert deadline.astimezone(berlin).utcoffset() == 2 * HOUR


def test_given_new_year_eve_when_explaining_then_holiday_and_makeup_day_are_named(default):
    text = default.explain_deadline(sh(2025, 12, 31, 17, 30), HOUR)

    assert text.startswith("截止 1月4日 周日 09:30：自 12月31日 周三 17:30 起计 1 小时工作时间")
    assert "已跳过元旦" in text
    assert "1月4日（周日）为调休工作日" in text


def test_given_friday_evening_when_explaining_then_weekend_and_deferred_start_are_named(default):
    text = default.explain_deadline(sh(2025, 11, 21, 19, 0), timedelta(hours=1, minutes=30))

    assert text.startswith("截止 11月24日 周一 10:30：自 11月21日 周五 19:00 起计 1 小时 30 分钟工作时间")
    assert "自 11月24日 周一 09:00 起算" in text
    assert "已跳过周末" in text


def test_given_golden_week_when_explaining_then_the_holiday_names_are_chinese(default):
    text = default.explain_deadline(sh(2025, 9, 30, 17, 0), 2 * HOUR)

    assert "国庆节" in text and "中秋节" in text
    assert "National Day" not in text
