"""HTTP bodies of the ticket API.

- `POST /tickets` takes `CreateTicketRequest` → 201 `TicketResponse`.
- `POST /tickets/{id}/actions` takes `ActionRequest` → 200 `ActionResponse`.
- `GET /tickets?team=&status=` parses `TicketListQuery` → 200 `TicketListResponse`.
- `GET /tickets/{id}/history` → 200 `HistoryResponse`.

Failures (mapped once by `wecom_oa.http`) and what names the reason:
unknown type → 400 `invalid_input`, details field `type`; bad or missing fields → 400, details
`fields.<key>`; bad action arguments → 400, details `to` / `reason` / `comment`; action not allowed in
the current status → 409 `illegal_transition`, details `{status, action, allowed}`; the ticket
changed since `version` → 409 `stale_version`; unknown ticket → 404 `not_found`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field

from wecom_oa.errors import InvalidInput
from wecom_oa.tickets.domain import (
    OPEN_STATUSES,
    Action,
    ActionPayload,
    HistoryEntry,
    Key,
    NewTicket,
    Priority,
    Status,
    Target,
    Ticket,
)
from wecom_oa.validation import Model


class CreateTicketRequest(NewTicket):
    """`{type, title, reporter, priority, fields, source?, linked?, customer_visible?}`. `priority`
    is P1 (紧急) … P4 (低); omitted → the type's default. Unknown keys are rejected."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{
            "type": "repair", "title": "3号产线包装机异响", "reporter": "zhangsan", "priority": "P2",
            "fields": {"device_name": "包装机", "location": "一号厂房3号线"},
        }]},
    )

    def to_domain(self) -> NewTicket:
        return NewTicket.model_validate(self.model_dump())


class ActionRequest(Model):
    """`{action, by, version?, to?, comment?, reason?, fields?}`. Give `version` (as last read) to
    have a change made by someone else since then rejected instead of silently built upon."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    by: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    version: int | None = Field(None, ge=1)
    to: Target | str | None = None
    comment: str | None = Field(None, max_length=2000)
    reason: str | None = Field(None, max_length=500)
    fields: dict[str, Any] | None = None

    def payload(self) -> ActionPayload:
        return ActionPayload(to=self.to, comment=self.comment, reason=self.reason, fields=self.fields)


class TicketResponse(Ticket):
    """The stored ticket plus its SLA view (filled by the caller from the SLA module, if any)."""

    sla: dict[str, Any] | None = None

    @classmethod
    def from_ticket(cls, ticket: Ticket, sla: dict[str, Any] | None = None) -> TicketResponse:
        return cls.model_validate({**ticket.model_dump(), "sla": sla})


class ActionResponse(Model):
    ticket: TicketResponse
    entry: HistoryEntry


class HistoryResponse(Model):
    ticket_id: str
    items: list[HistoryEntry]


class TicketListQuery(Model):
    """Query string of `GET /tickets`. Only open statuses can be listed by team (the open index)."""

    model_config = ConfigDict(extra="forbid")

    team: Key
    status: Status | None = None
    limit: int = Field(50, ge=1, le=200)

    def statuses(self) -> set[Status]:
        if self.status is None:
            return set(OPEN_STATUSES)
        if self.status not in OPEN_STATUSES:
            raise InvalidInput(
                f"status {self.status} cannot be listed by team",
                details=[{"field": "status", "problem": "one of " + ", ".join(sorted(OPEN_STATUSES))}],
            )
        return {self.status}


class TicketSummary(Model):
    id: str
    type: str
    title: str
    priority: Priority
    status: Status
    stage: str
    team: str
    assignee: str | None
    next_due: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> TicketSummary:
        return cls.model_validate(ticket.model_dump(include=set(cls.model_fields)))


class TicketListResponse(Model):
    team: str
    status: Status | None
    count: int
    items: list[TicketSummary]

    @classmethod
    def build(cls, query: TicketListQuery, tickets: list[Ticket]) -> TicketListResponse:
        items = [TicketSummary.from_ticket(t) for t in tickets]
        return cls(team=query.team, status=query.status, count=len(items), items=items)
