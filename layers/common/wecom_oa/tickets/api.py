"""HTTP routes of tickets (工单): open one, read one with its history and SLA clocks, act on it,
list a team's open tickets.

Bodies are validated by powertools from the models (400 naming the field); the ticket type's own
fields, the members named and the transition rules are checked by the service, which is imported
on the first request (a cold start loads only this router and the models)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from wecom_oa.http import ERRORS, created, created_doc
from wecom_oa.tickets.models import ActionRequest, CreateTicketRequest

router = Router()
TAG = ["tickets"]
TicketId = Annotated[str, Path(min_length=1, max_length=80, description="ticket id (`TK…`)")]


@router.post("/tickets", tags=TAG, summary="Open a ticket", responses={**created_doc(), **ERRORS})
def open_ticket(body: Annotated[CreateTicketRequest, Body()]) -> Response[dict[str, Any]]:
    """Routed by its type (`config/ticket_types.yaml`) to a team and assignee, with its SLA clocks
    started in business time; `fields` are the type's custom fields, checked at the first stage."""
    from wecom_oa.tickets import service

    return created(service.create(body))


@router.get("/tickets/<id>", tags=TAG, summary="A ticket with its history and SLA clocks", responses=ERRORS)
def get_ticket(id: TicketId) -> dict[str, Any]:
    from wecom_oa.tickets import service

    return service.view(id)


@router.post("/tickets/<id>/actions", tags=TAG, summary="Act on a ticket (accept, transfer, advance, resolve …)",
             responses=ERRORS)
def act(id: TicketId, body: Annotated[ActionRequest, Body()]) -> dict[str, Any]:
    """The action must be one the current status allows (409 `illegal_transition` names those that
    are); give `version` as last read to have a change made meanwhile refused (409 `stale_version`)."""
    from wecom_oa.tickets import service

    return service.act(id, body)


@router.get("/tickets", tags=TAG, summary="A team's open tickets", responses=ERRORS)
def list_tickets(
    team: Annotated[str, Query(min_length=1, max_length=64, description="team key, e.g. `tech_support`")],
    status: Annotated[str | None, Query(max_length=200, description="comma-separated open statuses")] = None,
) -> dict[str, Any]:
    from wecom_oa.tickets import service

    return service.list_open(team, status)
