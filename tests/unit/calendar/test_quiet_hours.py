"""Quiet hours hold messages that can wait until the morning (or the next workday)."""

from __future__ import annotations

from datetime import date, datetime

from wecom_oa.worktime.quiet import QuietHours


class Weekdays:
    def is_workday(self, day: date) -> bool:
        return day.weekday() < 5 and day != date(2026, 5, 5)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def test_given_the_night_when_asked_then_held_until_08_30_that_morning_or_the_next() -> None:
    q = QuietHours()
    assert q.until(at("2026-05-06T03:03:00"), Weekdays()) == at("2026-05-06T08:30:00")
    assert q.until(at("2026-05-06T22:10:00"), Weekdays()) == at("2026-05-07T08:30:00")


def test_given_working_hours_when_asked_then_not_quiet() -> None:
    assert QuietHours().until(at("2026-05-06T10:00:00"), Weekdays()) is None
    assert QuietHours().until(at("2026-05-06T20:59:00"), Weekdays()) is None


def test_given_a_friday_night_or_a_holiday_when_asked_then_held_until_the_next_workday() -> None:
    q = QuietHours()
    assert q.until(at("2026-05-08T23:00:00"), Weekdays()) == at("2026-05-11T08:30:00")  # Fri → Mon
    assert q.until(at("2026-05-05T11:00:00"), Weekdays()) == at("2026-05-06T08:30:00")  # a holiday
    assert QuietHours(quiet_non_workdays=False).until(at("2026-05-09T11:00:00"), Weekdays()) is None
