"""Which WeCom 汇报 journals count as daily reports, and the smallest import window that decides streaks."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wecom_oa.digests.reports import ReportPolicy, find_missing, journal_window_start

from .conftest import FakeCalendar

CALENDAR = FakeCalendar(holidays={date(2026, 10, d) for d in range(1, 8)}, makeup_workdays={date(2026, 10, 10)})


@pytest.mark.parametrize(("today", "policy", "start"), [
    (date(2026, 11, 19), ReportPolicy(), date(2026, 11, 16)),                        # Thu: Mon, Tue, Wed
    (date(2026, 11, 23), ReportPolicy(), date(2026, 11, 18)),                        # Mon: Wed, Thu, Fri
    (date(2026, 11, 23), ReportPolicy(include_today=True), date(2026, 11, 19)),      # Mon: Thu, Fri, Mon
    (date(2026, 10, 12), ReportPolicy(), date(2026, 10, 8)),                         # Thu 10-8, Fri, 调休 Sat
    (date(2026, 10, 9), ReportPolicy(), date(2026, 9, 29)),                          # across National Day
    (date(2026, 11, 23), ReportPolicy(consecutive_workdays=1), date(2026, 11, 20)),
])
def test_given_a_day_when_the_window_is_computed_then_it_starts_at_the_oldest_deciding_workday(
        today, policy, start):
    assert journal_window_start(CALENDAR, today, policy) == start


def test_given_fewer_workdays_than_needed_in_the_lookback_then_the_window_is_the_whole_lookback():
    no_workdays = FakeCalendar(holidays={date(2026, 1, 1) + timedelta(days=k) for k in range(400)})
    policy = ReportPolicy(lookback_days=10)

    assert journal_window_start(no_workdays, date(2026, 3, 11), policy) == date(2026, 3, 1)


@pytest.mark.parametrize(("policy", "name", "template_id", "counts"), [
    (ReportPolicy(), "日报", "", True),
    (ReportPolicy(), "周报", "tpl-daily", False),
    (ReportPolicy(journal_template_ids=("tpl-daily",)), "工作日志", "tpl-daily", True),
    (ReportPolicy(journal_templates=("工作日志",)), "日报", "tpl-x", False),
    (ReportPolicy(journal_templates=(), journal_template_ids=("tpl-daily",)), "日报", "", False),
])
def test_given_a_journal_template_when_matched_then_names_or_ids_decide(policy, name, template_id, counts):
    assert policy.journal_counts(name, template_id) is counts


def test_given_no_templates_configured_then_journals_are_not_imported():
    assert ReportPolicy().imports_journals
    assert not ReportPolicy(journal_templates=()).imports_journals


DAYS = [date(2026, 9, 20) + timedelta(days=k) for k in range(40)]


@settings(max_examples=60, deadline=None)
@given(
    reports=st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), st.sets(st.sampled_from(DAYS), max_size=6)),
    today=st.sampled_from(DAYS[10:]),
    consecutive=st.integers(min_value=1, max_value=5),
    include_today=st.booleans(),
)
def test_given_any_reports_when_only_the_window_is_known_then_the_same_people_are_missing(
        reports, today, consecutive, include_today):
    policy = ReportPolicy(consecutive_workdays=consecutive, include_today=include_today, lookback_days=30)
    start = journal_window_start(CALENDAR, today, policy)
    windowed = {u: {d for d in days if d >= start} for u, days in reports.items()}
    users = ["a", "b", "c", "d"]

    full = find_missing(users, reports, CALENDAR, today, policy)
    known = find_missing(users, windowed, CALENDAR, today, policy)

    assert [m.userid for m in known] == [m.userid for m in full]
