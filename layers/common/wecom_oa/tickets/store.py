"""Ticket persistence: one META item per ticket plus append-only history items, in the app table.

Guarantees
- `create` writes the ticket and its first history entry in one transaction, or nothing
  (`AlreadyExists` if the id is taken).
- `commit`/`apply` write the new ticket and its history entry in one transaction guarded by
  `version`: if the stored version is not the one the change was computed from, nothing is written
  and `StaleVersion` is raised. History sort keys are unique per version, so no entry is lost or
  written twice.
- Open tickets (new / in_progress / waiting_customer) carry the sparse gsi1 keys
  `OPEN#TICKET#{team}` / `{next_due}#{id}`; resolving or closing removes them, reopening restores
  them. A ticket without a known deadline sorts last (`NO_DEADLINE`).
- `set_next_deadline` only touches `next_due` and gsi1sk, and only while the ticket is open; it does
  not bump `version`, so timers never make a user's action stale. `commit` never overwrites them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from wecom_oa.aws.dynamo import GSI_OPEN, DynamoTable, Keys, to_dynamo
from wecom_oa.clock import utc_iso
from wecom_oa.errors import AlreadyExists, Conflict, InvalidInput, NotFound, StaleVersion
from wecom_oa.tickets.domain import (
    OPEN_STATUSES,
    Action,
    ActionPayload,
    HistoryEntry,
    Outcome,
    Status,
    Ticket,
    TicketCatalog,
    apply_action,
)

KIND = "TICKET"
NO_DEADLINE = "9999-12-31T23:59:59Z"
_HIST = "HIST#"
# Attributes owned by `set_next_deadline` or the key schema; `commit` leaves them alone.
_NOT_COPIED = frozenset({"id", "next_due"})


def _hist_ts(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ticket_attrs(ticket: Ticket) -> dict[str, Any]:
    return {"entity": "ticket", **ticket.model_dump(mode="json")}


def _history_item(entry: HistoryEntry) -> dict[str, Any]:
    return {
        **Keys.ticket_history(entry.ticket_id, _hist_ts(entry.at), entry.seq),
        "entity": "ticket_history",
        **entry.model_dump(mode="json"),
    }


def _open_keys(ticket: Ticket) -> dict[str, str]:
    due = utc_iso(ticket.next_due) if ticket.next_due else NO_DEADLINE
    return Keys.open_index(KIND, ticket.team, due, ticket.id)


class TicketRepository:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # -- writes ----------------------------------------------------------------------------------
    def create(self, ticket: Ticket, entry: HistoryEntry) -> None:
        """Store a new ticket and its first history entry atomically. Raises `AlreadyExists`."""
        item = {**Keys.ticket(ticket.id), **_ticket_attrs(ticket)}
        if ticket.is_open:
            item.update(_open_keys(ticket))
        try:
            self.table.transact([
                {"put": item, "condition": "attribute_not_exists(pk)"},
                {"put": _history_item(entry), "condition": "attribute_not_exists(pk)"},
            ])
        except Conflict:
            raise AlreadyExists(f"ticket {ticket.id} already exists") from None

    def commit(self, before: Ticket, outcome: Outcome) -> Ticket:
        """Persist `outcome` computed from `before`. Raises `StaleVersion` if the stored ticket moved on."""
        after, entry = outcome.ticket, outcome.entry
        if after.id != before.id or after.version != before.version + 1 or entry.seq != after.version:
            raise ValueError("outcome was not computed from this ticket version")
        try:
            self.table.transact([
                {"update": self._update_op(before, after)},
                {"put": _history_item(entry), "condition": "attribute_not_exists(pk)"},
            ])
        except Conflict:
            raise StaleVersion(
                f"ticket {before.id} changed since version {before.version}; reload and retry",
                details={"ticket_id": before.id, "version": before.version},
            ) from None
        return after

    def _update_op(self, before: Ticket, after: Ticket) -> dict[str, Any]:
        """A raw transact Update: every ticket attribute set (None → removed), gsi1 maintained,
        guarded by `version`."""
        attrs = {k: v for k, v in _ticket_attrs(after).items() if k not in _NOT_COPIED}
        if after.is_open:
            gsi = _open_keys(after)
            attrs["gsi1pk"] = gsi["gsi1pk"]
            if not before.is_open:  # reopened: back in the index; the SLA sets the real deadline
                attrs["gsi1sk"] = gsi["gsi1sk"]
        else:
            attrs.update({"gsi1pk": None, "gsi1sk": None, "next_due": None})
        names: dict[str, str] = {"#version": "version"}
        values: dict[str, Any] = {":expected": to_dynamo(before.version)}
        sets: list[str] = []
        removes: list[str] = []
        for i, (name, value) in enumerate(attrs.items()):
            names[f"#a{i}"] = name
            if value is None:
                removes.append(f"#a{i}")
            else:
                values[f":a{i}"] = to_dynamo(value)
                sets.append(f"#a{i} = :a{i}")
        expr = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        return {
            "Key": {k: to_dynamo(v) for k, v in Keys.ticket(after.id).items()},
            "UpdateExpression": expr,
            "ConditionExpression": "attribute_exists(pk) AND #version = :expected",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    def apply(
        self,
        ticket_id: str,
        action: Action | str,
        by: str,
        *,
        catalog: TicketCatalog,
        now: datetime,
        payload: ActionPayload | Mapping[str, Any] | None = None,
        expected_version: int | None = None,
    ) -> Outcome:
        """Read, apply one action, write. `expected_version` (the version the caller saw) turns a
        change made since then into `StaleVersion` before anything is computed."""
        before = self.get(ticket_id)
        if expected_version is not None and expected_version != before.version:
            raise StaleVersion(
                f"ticket {ticket_id} is at version {before.version}, not {expected_version}; reload and retry",
                details={"ticket_id": ticket_id, "version": before.version},
            )
        outcome = apply_action(before, action, by, now, payload, catalog=catalog)
        self.commit(before, outcome)
        return outcome

    def set_next_deadline(self, ticket_id: str, due: datetime, *, if_version: int | None = None) -> bool:
        """Move an open ticket in the deadline order. False (nothing written) when it is not open
        any more or, with `if_version`, has changed since the deadline was computed."""
        condition = "attribute_exists(gsi1pk)"
        values: dict[str, Any] = {}
        if if_version is not None:
            condition += " AND version = :v"
            values[":v"] = if_version
        try:
            self.table.update(
                Keys.ticket(ticket_id),
                set_fields={"next_due": due.astimezone(UTC).isoformat(), "gsi1sk": f"{utc_iso(due)}#{ticket_id}"},
                condition=condition,
                condition_values=values or None,
            )
        except Conflict:
            return False
        return True

    # -- reads -----------------------------------------------------------------------------------
    def get(self, ticket_id: str) -> Ticket:
        item = self.table.get(Keys.ticket(ticket_id))
        if item is None:
            raise NotFound(f"ticket {ticket_id} not found")
        return Ticket.model_validate(item)

    def history(self, ticket_id: str) -> list[HistoryEntry]:
        pk = Keys.ticket(ticket_id)["pk"]
        entries = [HistoryEntry.model_validate(i) for i in self.table.query(pk, sk_prefix=_HIST)]
        return sorted(entries, key=lambda e: (e.seq, e.at))

    def append_timer_entry(self, ticket_id: str, *, kind: str, clock: str, level: int | None,
                           notified: list[str], at: datetime) -> None:
        """Record what the escalation timer did (warning, breach, escalation and whom it told) in the
        ticket's history, after the entry of the version it acted on; status and stage unchanged."""
        ticket = self.get(ticket_id)
        entry = HistoryEntry(ticket_id=ticket_id, seq=ticket.version, at=at, by="system", action="sla",
                             from_status=ticket.status, status=ticket.status, stage=ticket.stage, team=ticket.team,
                             assignee=ticket.assignee,
                             changes={"sla": kind, "clock": clock, "level": level, "notified": list(notified)})
        self.table.put(_history_item(entry))

    def open_page(self, team: str, start: Mapping[str, str] | None, limit: int
                  ) -> tuple[list[tuple[Ticket, dict[str, str]]], dict[str, str] | None]:
        """One page of `team`'s open tickets, earliest deadline first: each with its index key (a
        cursor to continue after it), and the key to continue from (None at the end)."""
        pk = Keys.open_index(KIND, team, "", "")["gsi1pk"]
        items, last = self.table.query_page(pk, index=GSI_OPEN, limit=limit, start=start)
        keys = ("pk", "sk", "gsi1pk", "gsi1sk")
        return [(Ticket.model_validate(i), {k: str(i[k]) for k in keys}) for i in items], last

    def list_open(
        self, team: str, statuses: Iterable[Status | str] | None = None, *, limit: int | None = None
    ) -> list[Ticket]:
        """Open tickets of `team`, earliest deadline first, read from the sparse open index only.
        Resolved and closed tickets are not in it: asking for them raises `InvalidInput`."""
        wanted = {Status(s) for s in statuses} if statuses else set(OPEN_STATUSES)
        if closed := wanted - OPEN_STATUSES:
            raise InvalidInput(
                "only open tickets can be listed by team",
                details=[{"field": "status", "problem": f"{', '.join(sorted(closed))} is not an open status"}],
            )
        pk = Keys.open_index(KIND, team, "", "")["gsi1pk"]
        out: list[Ticket] = []
        for item in self.table.query(pk, index=GSI_OPEN):
            ticket = Ticket.model_validate(item)
            if ticket.status in wanted:
                out.append(ticket)
                if limit is not None and len(out) >= limit:
                    break
        return out
