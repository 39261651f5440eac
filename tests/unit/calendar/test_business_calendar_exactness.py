"""Exactness: BusinessCalendar's window arithmetic equals a minute-by-minute walk (calendar_reference).

Starts are drawn across 2025–2026 with extra weight around 元旦, 春节, 清明, 劳动节, 国庆 and the
调休 make-up days (chinesecalendar 1.11 data), and around Europe/Berlin's DST switches.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from calendar_reference import MinuteWalker
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wecom_oa.worktime.calendar import BusinessCalendar, CalendarConfig, load_calendars

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
MINUTE = timedelta(minutes=1)

# Days around every 2025–2026 holiday and 调休 day in chinesecalendar's data.
CHINA_ANCHORS = [
    date(2024, 12, 31), date(2025, 1, 24), date(2025, 2, 7), date(2025, 4, 3), date(2025, 4, 26),
    date(2025, 4, 30), date(2025, 5, 30), date(2025, 9, 26), date(2025, 9, 30), date(2025, 10, 10),
    date(2025, 12, 30), date(2026, 1, 3), date(2026, 2, 13), date(2026, 2, 27), date(2026, 5, 8),
    date(2026, 6, 18), date(2026, 9, 18), date(2026, 9, 30), date(2026, 10, 9),
]
BERLIN_ANCHORS = [date(2025, 3, 29), date(2025, 10, 25), date(2026, 3, 28), date(2026, 10, 24)]

BERLIN_ROUND_THE_CLOCK = CalendarConfig(
    name="berlin",
    timezone="Europe/Berlin",
    windows=[
        {"start": "00:00", "end": "04:00"},
        {"start": "08:00", "end": "12:00"},
        {"start": "13:00", "end": "17:00"},
        {"start": "22:00", "end": "24:00"},
    ],
    weekdays=[1, 2, 3, 4, 5, 6, 7],
    chinese_holidays=False,
    extra_holidays=["2025-12-25", "2026-12-25"],
)

_SET = load_calendars()
CALENDARS = {
    "default": _SET.get("default").config,
    "factory-support": _SET.get("factory-support").config,
    "berlin": BERLIN_ROUND_THE_CLOCK,
}
ANCHORS = {"default": CHINA_ANCHORS, "factory-support": CHINA_ANCHORS, "berlin": BERLIN_ANCHORS}
ZONES = {"default": SHANGHAI, "factory-support": SHANGHAI, "berlin": BERLIN}
FIRST, LAST = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 12, 10, tzinfo=UTC)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def minute_starts(name: str) -> st.SearchStrategy[datetime]:
    """Minute-aligned instants: near the calendar's special days, or anywhere in 2025–2026."""
    tz = ZONES[name]
    near = st.builds(
        lambda day, minutes: datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        + timedelta(minutes=minutes),
        st.sampled_from(ANCHORS[name]),
        st.integers(min_value=0, max_value=4 * 24 * 60),
    )
    span = int((LAST - FIRST) / MINUTE)
    anywhere = st.integers(min_value=0, max_value=span).map(lambda m: FIRST + m * MINUTE)
    return st.one_of(near, anywhere)


def whole_minutes(max_hours: int) -> st.SearchStrategy[timedelta]:
    return st.integers(min_value=0, max_value=max_hours * 60).map(lambda m: m * MINUTE)


@pytest.mark.parametrize("name", sorted(CALENDARS))
@FAST
@given(data=st.data())
def test_given_random_start_and_duration_when_adding_business_time_then_equals_minute_walk(name, data):
    calendar, walker = BusinessCalendar(CALENDARS[name]), MinuteWalker(CALENDARS[name])
    start = data.draw(minute_starts(name), label="start")
    duration = data.draw(whole_minutes(24), label="duration")

    deadline = calendar.add_business_time(start, duration)

    assert deadline == walker.add(start, duration)
    assert deadline.tzinfo is UTC


@pytest.mark.parametrize("name", sorted(CALENDARS))
@FAST
@given(data=st.data())
def test_given_two_instants_when_measuring_business_time_then_equals_counted_minutes(name, data):
    calendar, walker = BusinessCalendar(CALENDARS[name]), MinuteWalker(CALENDARS[name])
    a = data.draw(minute_starts(name), label="a")
    b = a + data.draw(whole_minutes(6 * 24), label="gap")

    assert calendar.business_time_between(a, b) == walker.between(a, b)
    assert calendar.business_time_between(b, a) == -walker.between(a, b)


@pytest.mark.parametrize("name", sorted(CALENDARS))
@FAST
@given(data=st.data())
def test_given_any_minute_when_asking_is_working_time_and_next_instant_then_matches_walk(name, data):
    calendar, walker = BusinessCalendar(CALENDARS[name]), MinuteWalker(CALENDARS[name])
    minute = data.draw(minute_starts(name), label="minute")

    assert calendar.is_working_time(minute) == walker.is_working(minute)
    assert calendar.next_working_instant(minute) == walker.add(minute, timedelta(0))


@pytest.mark.parametrize("name", sorted(CALENDARS))
@settings(max_examples=150, deadline=None)
@given(
    offset=st.integers(min_value=0, max_value=600 * 24 * 3600 * 10**6),
    micros=st.integers(min_value=0, max_value=40 * 3600 * 10**6),
)
def test_given_sub_second_inputs_when_adding_then_between_is_the_exact_inverse(name, offset, micros):
    calendar = BusinessCalendar(CALENDARS[name])
    start = FIRST + timedelta(microseconds=offset)
    duration = timedelta(microseconds=micros)

    deadline = calendar.add_business_time(start, duration)

    assert calendar.business_time_between(start, deadline) == duration
    if duration:
        assert calendar.add_business_time(start, calendar.business_time_between(start, deadline)) == deadline


@pytest.mark.parametrize("name", sorted(CALENDARS))
@settings(max_examples=150, deadline=None)
@given(
    offset=st.integers(min_value=0, max_value=600 * 24 * 60),
    gap=st.integers(min_value=0, max_value=10 * 24 * 60),
)
def test_given_any_end_when_adding_the_measured_time_then_lands_at_or_before_it_with_nothing_between(
    name, offset, gap
):
    calendar = BusinessCalendar(CALENDARS[name])
    a = FIRST + offset * MINUTE
    b = a + gap * MINUTE

    measured = calendar.business_time_between(a, b)
    back = calendar.add_business_time(a, measured)

    if measured:
        assert back <= b
        assert calendar.business_time_between(back, b) == timedelta(0)


@pytest.mark.parametrize("name", sorted(CALENDARS))
@settings(max_examples=100, deadline=None)
@given(
    offset=st.integers(min_value=0, max_value=600 * 24 * 60),
    first=st.integers(min_value=1, max_value=30 * 60),
    second=st.integers(min_value=1, max_value=30 * 60),
)
def test_given_two_positive_durations_when_chaining_additions_then_equals_adding_the_sum(
    name, offset, first, second
):
    calendar = BusinessCalendar(CALENDARS[name])
    start = FIRST + offset * MINUTE

    chained = calendar.add_business_time(calendar.add_business_time(start, first * MINUTE), second * MINUTE)

    assert chained == calendar.add_business_time(start, (first + second) * MINUTE)
    assert calendar.add_business_time(start, first * MINUTE) <= chained
