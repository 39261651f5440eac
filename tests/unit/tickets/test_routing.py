"""Routing: first matching rule wins, type team fallback, default route, CC lists."""

from __future__ import annotations

import pytest

from wecom_oa.tickets.domain import Priority, route


@pytest.mark.parametrize(
    ("type_", "priority", "fields", "expected"),
    [
        ("complaint", "P2", {"severity": "major"}, ("customer_service", "lina", ("zhoujie",), "critical_complaint")),
        ("complaint", "P2", {"severity": "minor"}, ("customer_service", None, (), "default")),
        ("refund", "P3", {"refund_amount": "5000.00"}, ("finance", None, ("zhaomin",), "large_refund")),
        ("refund", "P3", {"refund_amount": "4999.99"}, ("finance", None, (), "default")),
        ("repair", "P3", {"fault_category": "electrical"}, ("field_service", None, ("xuming",), "electrical_repair")),
        ("repair", "P1", {"fault_category": "mechanical"}, ("tech_support", "zhangsan", ("zhoujie",), "urgent_repair")),
        ("repair", "P3", {}, ("tech_support", None, (), "default")),
        ("inquiry", "P4", {}, ("customer_service", None, (), "default")),
    ],
)
def test_given_ticket_when_routed_then_team_assignee_cc_and_rule_match(catalog, type_, priority, fields, expected):
    assert tuple(route(catalog, type_, Priority(priority), fields)) == expected


def test_given_two_rules_match_when_routed_then_first_in_file_wins(catalog):
    decision = route(catalog, "repair", Priority.P1, {"fault_category": "electrical"})
    assert decision.rule == "electrical_repair"


def test_given_rule_for_other_type_when_fields_match_then_not_applied(catalog):
    assert route(catalog, "refund", Priority.P3, {"severity": "critical"}).rule == "default"


def test_given_open_ticket_when_routed_then_ticket_carries_route(open_new):
    outcome = open_new("refund", {"severity": "minor", "description": "重复扣款", "refund_amount": 8000,
                                  "customer_record": {"kind": "order", "id": "SO-9"}})
    t = outcome.ticket
    assert (t.team, t.assignee, t.cc, t.route_rule) == ("finance", None, ("zhaomin",), "large_refund")
    assert t.priority == Priority.P3  # the type's default
