"""Ticket API bodies and how ticket errors reach a client."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from wecom_oa.errors import IllegalTransition, InvalidInput
from wecom_oa.http import error_response
from wecom_oa.tickets.domain import Status, Target, apply_action, open_ticket
from wecom_oa.tickets.models import (
    ActionRequest,
    CreateTicketRequest,
    TicketListQuery,
    TicketListResponse,
    TicketResponse,
)

EVENTS = Path(__file__).resolve().parents[2] / "events" / "tickets"
NOW = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)


def _create_body() -> dict:
    return json.loads((EVENTS / "create_repair.json").read_text(encoding="utf-8"))


def test_given_create_body_when_parsed_and_opened_then_response_has_team_and_linked_snapshot(catalog):
    request = CreateTicketRequest.model_validate(_create_body())
    outcome = open_ticket(catalog, request.to_domain(), ticket_id="T20250303-ABC123", now=NOW)
    body = TicketResponse.from_ticket(outcome.ticket, sla={"response_due": "2025-03-03T02:00:00Z"}).model_dump(mode="json")
    assert body["team"] == "tech_support" and body["priority"] == "P2" and body["status"] == "new"
    assert body["fields"]["related_order"]["snapshot"]["customer"] == "华东食品有限公司"
    assert body["sla"]["response_due"] == "2025-03-03T02:00:00Z"


def test_given_unknown_key_in_create_body_when_parsed_then_400_names_it():
    with pytest.raises(ValidationError) as err:
        CreateTicketRequest.model_validate({**_create_body(), "assignee": "me"})
    status, body = error_response(err.value)
    assert status == 400 and body["error"]["details"][0]["field"] == "assignee"


def test_given_unknown_type_when_opened_then_400_names_type(catalog):
    request = CreateTicketRequest.model_validate({**_create_body(), "type": "teleport"})
    with pytest.raises(InvalidInput) as err:
        open_ticket(catalog, request.to_domain(), ticket_id="T1", now=NOW)
    status, body = error_response(err.value)
    assert status == 400 and body["error"]["details"][0]["field"] == "type"
    assert "teleport" in body["error"]["message"]


def test_given_action_body_with_transfer_target_when_parsed_then_payload_carries_target():
    req = ActionRequest.model_validate({"action": "transfer", "by": "zhangsan", "version": 3,
                                        "to": {"team": "finance"}, "reason": "涉及退款"})
    assert req.payload().to == Target(team="finance") and req.version == 3


@pytest.mark.parametrize("body", [{"action": "approve", "by": "u"}, {"action": "accept"},
                                  {"action": "accept", "by": "u", "version": 0}])
def test_given_bad_action_body_when_parsed_then_rejected(body):
    with pytest.raises(ValidationError):
        ActionRequest.model_validate(body)


def test_given_illegal_transition_when_mapped_then_409_names_status_and_action(catalog):
    ticket = open_ticket(catalog, CreateTicketRequest.model_validate(_create_body()).to_domain(),
                         ticket_id="T1", now=NOW).ticket
    with pytest.raises(IllegalTransition) as err:
        apply_action(ticket, "resume", "u1", NOW, catalog=catalog)
    status, body = error_response(err.value)
    assert status == 409 and body["error"]["code"] == "illegal_transition"
    assert body["error"]["details"]["status"] == "new" and body["error"]["details"]["action"] == "resume"


def test_given_list_query_for_closed_status_when_checked_then_400_names_status():
    with pytest.raises(InvalidInput) as err:
        TicketListQuery(team="finance", status="closed").statuses()
    assert err.value.details[0]["field"] == "status"
    assert TicketListQuery(team="finance").statuses() == {Status.NEW, Status.IN_PROGRESS, Status.WAITING_CUSTOMER}


def test_given_tickets_when_listed_then_summaries_leave_out_fields(catalog):
    ticket = open_ticket(catalog, CreateTicketRequest.model_validate(_create_body()).to_domain(),
                         ticket_id="T1", now=NOW).ticket
    body = TicketListResponse.build(TicketListQuery(team="tech_support"), [ticket]).model_dump(mode="json")
    assert body["count"] == 1 and body["items"][0]["id"] == "T1" and "fields" not in body["items"][0]
