"""Missing daily reports: consecutive workdays only (weekends, holidays, 调休), leader notes."""

from __future__ import annotations

from datetime import date

from wecom_oa.digests.reports import (
    DailyReport,
    ReportPolicy,
    dates_by_user,
    find_missing,
    render_leader_note,
    render_reminder,
    with_leaders,
)
from wecom_oa.directory import StaticDirectory
from wecom_oa.texts import Templates

from .conftest import FakeCalendar


def d(month: int, day: int) -> date:
    return date(2026, month, day)


def test_given_weekend_between_when_checked_monday_then_fri_thu_wed_count(calendar: FakeCalendar) -> None:
    reports = dates_by_user([
        DailyReport(userid="alice", date=d(11, 17)),
        DailyReport(userid="alice", date=d(11, 21), source="wecom"),  # a Saturday report does not break the streak
        DailyReport(userid="bob", date=d(11, 19)),
    ])
    missing = find_missing(["alice", "bob", "carol"], reports, calendar, d(11, 23))
    by_user = {m.userid: m for m in missing}
    assert set(by_user) == {"alice", "carol"}
    assert by_user["alice"].dates == [d(11, 18), d(11, 19), d(11, 20)] and by_user["alice"].streak == 3
    assert by_user["carol"].streak > 3  # never reported: the streak runs back to the lookback


def test_given_national_day_holiday_when_checked_after_then_holidays_not_counted(calendar: FakeCalendar) -> None:
    reports = {"early": {d(9, 25)}, "late": {d(9, 28)}}
    missing = find_missing(["early", "late"], reports, calendar, d(10, 8))
    assert [(m.userid, m.dates) for m in missing] == [("early", [d(9, 28), d(9, 29), d(9, 30)])]


def test_given_makeup_saturday_when_checked_then_it_counts_as_a_workday(calendar: FakeCalendar) -> None:
    reports = {"alice": {d(9, 30)}, "bob": {d(10, 10)}}
    missing = find_missing(["alice", "bob"], reports, calendar, d(10, 12))
    assert [(m.userid, m.dates) for m in missing] == [("alice", [d(10, 8), d(10, 9), d(10, 10)])]


def test_given_new_joiner_when_checked_then_days_before_joining_not_held_against_them(calendar: FakeCalendar) -> None:
    missing = find_missing(["newbie", "old"], {}, calendar, d(11, 23), active_since={"newbie": d(11, 19)})
    assert [m.userid for m in missing] == ["old"]


def test_given_threshold_when_changed_then_respected(calendar: FakeCalendar) -> None:
    reports = {"alice": {d(11, 18)}}  # then nothing on Thu 19 and Fri 20
    assert [m.dates for m in find_missing(["alice"], reports, calendar, d(11, 23), ReportPolicy(consecutive_workdays=2))] == [
        [d(11, 19), d(11, 20)]]
    assert not find_missing(["alice"], reports, calendar, d(11, 23), ReportPolicy(consecutive_workdays=3))


def test_given_include_today_when_checked_then_today_is_part_of_the_streak(calendar: FakeCalendar) -> None:
    (only,) = find_missing(["alice"], {"alice": {d(11, 18)}}, calendar, d(11, 23),
                           ReportPolicy(consecutive_workdays=3, include_today=True))
    assert only.dates == [d(11, 19), d(11, 20), d(11, 23)]


def test_given_missing_users_when_leaders_resolved_then_notes_grouped_per_leader(
    calendar: FakeCalendar, directory: StaticDirectory
) -> None:
    missing = find_missing(["alice", "carol", "dave", "ceo"], {}, calendar, d(11, 23))
    filled, notes = with_leaders(missing, directory)
    assert {m.userid: m.leader for m in filled} == {"alice": "rd_head", "carol": "rd_head", "dave": "ceo", "ceo": None}
    assert [(n.leader, [m.userid for m in n.members]) for n in notes] == [("ceo", ["dave"]), ("rd_head", ["alice", "carol"])]


def test_given_reminder_and_note_when_rendered_then_chinese_with_dates_and_names(
    calendar: FakeCalendar, directory: StaticDirectory, templates: Templates
) -> None:
    missing = find_missing(["alice"], {"alice": {d(11, 17)}}, calendar, d(11, 23))
    text = render_reminder(missing[0], templates)
    assert "连续 3 个工作日" in text and "11-18、11-19、11-20" in text
    _, notes = with_leaders(missing, directory)
    note = render_leader_note(notes[0], templates, {u.userid: u.name for u in directory.users()})
    assert "张三" in note and "自 11-18 起" in note
