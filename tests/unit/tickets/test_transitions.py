"""The status machine: every legal and illegal (status, action) pair, payload checks and effects."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wecom_oa.errors import IllegalTransition, InvalidInput
from wecom_oa.tickets.domain import Action, Notify, SlaChange, Status, Target, Ticket, apply_action

N, IP, WC, R, C = "new", "in_progress", "waiting_customer", "resolved", "closed"
# The specification, written out independently of the implementation's table.
LEGAL = {
    ("accept", N): IP,
    ("transfer", N): N, ("transfer", IP): N,
    ("wait_customer", IP): WC,
    ("resume", WC): IP,
    ("resolve", IP): R, ("resolve", WC): R,
    ("reopen", R): IP,
    ("close", N): C, ("close", IP): C, ("close", WC): C, ("close", R): C,
    ("comment", N): N, ("comment", IP): IP, ("comment", WC): WC, ("comment", R): R,
    ("advance", N): N, ("advance", IP): IP, ("advance", WC): WC,
    ("escalate", N): N, ("escalate", IP): IP, ("escalate", WC): WC,
}
PAYLOADS = {
    "transfer": {"to": {"team": "finance"}},
    "reopen": {"reason": "客户反馈问题仍在"},
    "close": {"reason": "重复工单"},
    "comment": {"comment": "已电话联系客户"},
    "advance": {"to": "answering"},
    "escalate": {"to": "boss1"},
}
ALL_PAIRS = [(a.value, s.value) for a in Action for s in Status]
LATER = datetime(2025, 3, 3, 3, 0, tzinfo=UTC)  # two hours after the tickets open


@pytest.fixture
def at_status(open_new):
    base = open_new(fields={"question": "发票怎么开？", "answer": "在官网申请"}).ticket

    def _at(status: str) -> Ticket:
        return base.model_copy(update={"status": Status(status), "assignee": "agent1"})

    return _at


@pytest.mark.parametrize(("action", "status"), [p for p in ALL_PAIRS if p in LEGAL])
def test_given_legal_pair_when_applied_then_status_version_and_history_follow(catalog, at_status, action, status):
    before = at_status(status)
    after, entry, _ = apply_action(before, action, "agent2", LATER, PAYLOADS.get(action), catalog=catalog)
    assert after.status == LEGAL[(action, status)]
    assert after.version == before.version + 1 == entry.seq
    assert (entry.action, entry.from_status, entry.status, entry.by, entry.at) == (action, status, after.status, "agent2", LATER)
    assert after.updated_at == LATER
    assert before.status == status  # the input is not modified


@pytest.mark.parametrize(("action", "status"), [p for p in ALL_PAIRS if p not in LEGAL])
def test_given_illegal_pair_when_applied_then_illegal_transition_names_status_and_action(catalog, at_status, action, status):
    with pytest.raises(IllegalTransition) as err:
        apply_action(at_status(status), action, "agent2", LATER, PAYLOADS.get(action), catalog=catalog)
    assert status in err.value.message and action in err.value.message
    assert err.value.details["status"] == status
    assert action not in err.value.details["allowed"]


def test_given_unknown_action_when_applied_then_invalid_input_names_action(catalog, at_status):
    with pytest.raises(InvalidInput) as err:
        apply_action(at_status(N), "approve", "agent2", LATER, catalog=catalog)
    assert err.value.details[0]["field"] == "action"


def test_given_new_ticket_when_accepted_then_acceptor_assigned_and_response_clock_stopped(catalog, at_status):
    after, _, effects = apply_action(at_status(N), "accept", "agent9", LATER, catalog=catalog)
    assert after.assignee == "agent9" and after.accepted_at == LATER
    assert SlaChange(op="stop", clock="response") in effects
    note = next(e for e in effects if isinstance(e, Notify))
    assert (note.template, note.to) == ("ticket.accepted", ("reporter1",))


@pytest.mark.parametrize(
    ("action", "status", "expected"),
    [
        ("wait_customer", IP, [("pause", "resolution")]),
        ("resume", WC, [("resume", "resolution")]),
        ("resolve", IP, [("stop", "resolution")]),
        ("resolve", WC, [("stop", "resolution")]),
        ("reopen", R, [("resume", "resolution")]),
        ("close", N, [("stop", "response"), ("stop", "resolution")]),
        ("close", R, []),
        ("transfer", IP, [("start", "response")]),
        ("comment", IP, []),
    ],
)
def test_given_status_move_when_applied_then_sla_effects_describe_clock_changes(catalog, at_status, action, status, expected):
    _, _, effects = apply_action(at_status(status), action, "agent2", LATER, PAYLOADS.get(action), catalog=catalog)
    assert [(e.op, e.clock) for e in effects if isinstance(e, SlaChange)] == expected


def test_given_transfer_to_team_when_applied_then_back_to_new_and_dispatchers_get_card(catalog, at_status):
    after, entry, effects = apply_action(at_status(IP), "transfer", "agent1", LATER,
                                         {"to": {"team": "finance"}, "reason": "涉及退款"}, catalog=catalog)
    assert (after.team, after.assignee, after.status) == ("finance", None, Status.NEW)
    card = next(e for e in effects if isinstance(e, Notify))
    assert (card.channel, card.to, card.template) == ("card", ("qianjin",), "ticket.transferred")
    assert card.context["reason"] == "涉及退款" and card.context["team_label"] == "财务部"
    assert entry.changes == {"team": "finance", "assignee": None} and entry.reason == "涉及退款"


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "to"), ({"to": {"team": "ghosts"}}, "to.team"), ({"to": {"assignee": "agent1"}}, "to")],
)
def test_given_bad_transfer_target_when_applied_then_invalid_input_names_field(catalog, at_status, payload, field):
    with pytest.raises(InvalidInput) as err:
        apply_action(at_status(IP), "transfer", "agent1", LATER, payload, catalog=catalog)
    assert err.value.details[0]["field"] == field


def test_given_target_without_team_or_assignee_when_built_then_rejected():
    with pytest.raises(ValueError, match="team and/or an assignee"):
        Target()


@pytest.mark.parametrize(("action", "status", "field"), [("close", IP, "reason"), ("comment", N, "comment"),
                                                          ("reopen", R, "reason"), ("advance", N, "to"),
                                                          ("escalate", N, "to")])
def test_given_missing_argument_when_applied_then_invalid_input_names_it(catalog, at_status, action, status, field):
    with pytest.raises(InvalidInput) as err:
        apply_action(at_status(status), action, "agent1", LATER, {}, catalog=catalog)
    assert err.value.details[0]["field"] == field


def test_given_resolved_ticket_when_closed_without_reason_then_closed(catalog, at_status):
    after, _, _ = apply_action(at_status(R), "close", "reporter1", LATER, catalog=catalog)
    assert after.status == Status.CLOSED and after.closed_at == LATER and not after.is_open


def test_given_repair_at_diagnosis_when_advanced_to_after_sales_then_fault_description_required(catalog, open_new):
    ticket = open_new("repair", {"device_name": "包装机", "location": "3号线"}).ticket
    step = apply_action(ticket, "advance", "tech1", LATER, {"to": "diagnosis", "fields": {"fault_category": "mechanical"}},
                        catalog=catalog).ticket
    with pytest.raises(InvalidInput) as err:
        apply_action(step, "advance", "tech1", LATER, {"to": "after_sales", "fields": {"technician": "tech1"}}, catalog=catalog)
    assert [d["field"] for d in err.value.details] == ["fields.fault_description"]
    after, entry, _ = apply_action(step, "advance", "tech1", LATER, {
        "to": "after_sales", "fields": {"technician": "tech1", "fault_description": "主电机轴承磨损"}}, catalog=catalog)
    assert after.stage == "after_sales" and after.fields["fault_description"] == "主电机轴承磨损"
    assert entry.stage == "after_sales" and entry.changes["fields"]["technician"] == "tech1"


def test_given_field_required_at_resolved_when_resolving_without_it_then_rejected(catalog, open_new):
    ticket = open_new().ticket.model_copy(update={"status": Status.IN_PROGRESS})
    with pytest.raises(InvalidInput) as err:
        apply_action(ticket, "resolve", "agent1", LATER, catalog=catalog)
    assert err.value.details[0]["field"] == "fields.answer"
    after, _, _ = apply_action(ticket, "resolve", "agent1", LATER, {"fields": {"answer": "已开具"}}, catalog=catalog)
    assert after.resolved_at == LATER and after.next_due is None


def test_given_escalation_when_applied_then_level_rises_and_supervisor_copied(catalog, at_status):
    after, _, effects = apply_action(at_status(N), "escalate", "system", LATER, {"to": "boss1", "reason": "1小时未受理"},
                                     catalog=catalog)
    again, _, _ = apply_action(after, "escalate", "system", LATER, {"to": "boss1"}, catalog=catalog)
    assert after.escalation_level == 1 and after.cc == ("boss1",)
    assert again.escalation_level == 2 and again.cc == ("boss1",)
    card = next(e for e in effects if isinstance(e, Notify))
    assert card.to == ("boss1",) and card.template == "ticket.escalated"


@pytest.mark.parametrize(("action", "status"), [p for p in ALL_PAIRS if p in LEGAL])
def test_given_any_notification_when_emitted_then_names_title_and_id_and_skips_actor(catalog, at_status, action, status):
    ticket = at_status(status).model_copy(update={"cc": ("agent2", "watcher")})
    _, _, effects = apply_action(ticket, action, "agent2", LATER, PAYLOADS.get(action), catalog=catalog)
    for note in (e for e in effects if isinstance(e, Notify)):
        assert note.context["ticket_id"] == "T1" and note.context["title"] == "测试工单"
        assert "agent2" not in note.to and note.to


def test_given_new_ticket_when_opened_then_handler_gets_card_and_clocks_start(open_new):
    outcome = open_new("complaint", {"severity": "critical", "description": "送货延误三天"})
    ops = [(e.op, e.clock) for e in outcome.effects if isinstance(e, SlaChange)]
    notes = {e.template: e.to for e in outcome.effects if isinstance(e, Notify)}
    assert ops == [("start", "response"), ("start", "resolution")]
    assert notes == {"ticket.assigned": ("lina",), "ticket.cc": ("zhoujie",)}
    assert (outcome.entry.action, outcome.entry.seq, outcome.entry.by) == ("create", 1, "reporter1")


def test_given_opportunity_source_without_link_when_opened_then_invalid(open_new):
    with pytest.raises(InvalidInput) as err:
        open_new(source="opportunity")
    assert err.value.details[0]["field"] == "linked"
    linked = [{"kind": "opportunity", "id": "OPP-7", "snapshot": {"customer": "华东食品", "stage": "谈判"}}]
    assert open_new(source="opportunity", linked=linked).ticket.linked[0].id == "OPP-7"
