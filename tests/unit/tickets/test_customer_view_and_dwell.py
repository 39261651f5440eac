"""What is shared outward, and time spent per status, stage and team."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wecom_oa.errors import Forbidden
from wecom_oa.tickets.domain import Status, apply_action, dwell_times

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
H = timedelta(hours=1)


class OfficeHoursUtc:
    """Fake business-time calculator: counts only 01:00–10:00 UTC (09:00–18:00 Beijing) of every day."""

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        total = timedelta(0)
        day = a.replace(hour=0, minute=0, second=0, microsecond=0)
        while day < b:
            start, end = max(a, day + H), min(b, day + 10 * H)
            total += max(end - start, timedelta(0))
            day += timedelta(days=1)
        return total


# -- customer view --------------------------------------------------------------------------------
def test_given_internal_ticket_when_customer_view_requested_then_forbidden(open_new):
    ticket = open_new("repair", {"device_name": "包装机", "location": "3号线"}).ticket
    assert ticket.customer_visible is False
    with pytest.raises(Forbidden):
        ticket.customer_view()


def test_given_shared_complaint_when_customer_view_then_only_outward_data(catalog, open_new):
    ticket = open_new("complaint", {
        "severity": "critical", "description": "送货延误三天", "amount": 300,
        "customer_record": {"kind": "order", "id": "SO-1", "snapshot": {"phone": "13800000000"}},
    }, linked=[{"kind": "order", "id": "SO-1", "snapshot": {"phone": "13800000000"}}]).ticket
    view = ticket.customer_view(catalog.template_for("complaint")).model_dump()
    assert view["fields"] == {"description": "送货延误三天"}
    assert view["id"] == "T1" and view["title"] == "测试工单" and view["status"] == "new"
    assert not {"assignee", "team", "cc", "reporter", "linked", "route_rule", "version"} & view.keys()
    assert "13800000000" not in str(view)


def test_given_no_template_when_customer_view_then_no_custom_fields(open_new):
    ticket = open_new("complaint", {"severity": "minor", "description": "态度差"}).ticket
    assert ticket.customer_view().fields == {}


# -- dwell time -----------------------------------------------------------------------------------
def _walk(catalog, open_new, steps):
    """Apply `(hours after T0, action, payload)` steps; return the history entries."""
    outcome = open_new()
    ticket, history = outcome.ticket, [outcome.entry]
    for hours, action, payload in steps:
        ticket, entry, _ = apply_action(ticket, action, "agent1", T0 + hours * H, payload, catalog=catalog)
        history.append(entry)
    return history


def test_given_lifecycle_when_dwell_computed_then_wall_and_business_time_per_status(catalog, open_new):
    history = _walk(catalog, open_new, [
        (1, "accept", None),
        (3, "wait_customer", None),
        (5, "resume", None),
        (6, "resolve", {"fields": {"answer": "已答复"}}),
        (30, "close", None),
    ])
    report = dwell_times(history, until=T0 + 100 * H, calendar=OfficeHoursUtc())
    wall = {k: v.wall for k, v in report.by_status.items()}
    assert wall == {"new": 1 * H, "in_progress": 3 * H, "waiting_customer": 2 * H, "resolved": 24 * H}
    # resolved at 07:00 UTC, closed 07:00 next day: 3 h left that day + 6 h the next morning
    assert report.by_status["resolved"].business == 9 * H
    assert report.by_stage["intake"].wall == 30 * H  # closed: nothing after the last entry
    assert report.by_team == {"customer_service": report.by_stage["intake"]}


def test_given_open_ticket_when_dwell_computed_then_current_status_runs_until_now(catalog, open_new):
    history = _walk(catalog, open_new, [(2, "accept", None)])
    report = dwell_times(history, until=T0 + 5 * H)
    assert report.by_status["in_progress"].wall == 3 * H
    assert report.by_status["in_progress"].business is None  # no calendar given


def test_given_transfer_and_stage_change_when_dwell_computed_then_split_per_team_and_stage(catalog, open_new):
    history = _walk(catalog, open_new, [
        (1, "transfer", {"to": {"team": "finance"}}),
        (4, "accept", None),
        (6, "advance", {"to": "answering"}),
    ])
    report = dwell_times(reversed(history), until=T0 + 8 * H)  # order comes from seq, not input order
    assert {k: v.wall for k, v in report.by_team.items()} == {"customer_service": 1 * H, "finance": 7 * H}
    assert {k: v.wall for k, v in report.by_stage.items()} == {"intake": 6 * H, "answering": 2 * H}
    assert report.by_status["new"].wall == 4 * H


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=600), min_size=1, max_size=8), st.integers(0, 600))
def test_given_any_timeline_when_dwell_computed_then_statuses_sum_to_elapsed_time(catalog, open_new, gaps, tail):
    actions = ["accept", "wait_customer", "resume", "comment", "wait_customer", "resume", "comment", "comment"]
    payloads = {"comment": {"comment": "跟进"}}
    at, steps = 0.0, []
    for gap, action in zip(gaps, actions, strict=False):
        at += gap / 60
        steps.append((at, action, payloads.get(action)))
    history = _walk(catalog, open_new, steps)
    until = T0 + (at + tail / 60) * H
    report = dwell_times(history, until=until, calendar=OfficeHoursUtc())
    assert sum((d.wall for d in report.by_status.values()), timedelta(0)) == until - T0
    assert sum((d.business for d in report.by_team.values()), timedelta(0)) == OfficeHoursUtc().business_time_between(T0, until)
    assert Status.CLOSED.value not in report.by_status
