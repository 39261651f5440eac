"""Queue worker: route each stored WeCom event to its domain handler, and our own queue messages
(`INTERNAL_KINDS`: the paced sender's `deferred_send`) to theirs.

Delivery is at-least-once (SQS); every handler is idempotent (conditional writes keyed by the
event's idempotency key or by the state it moves). A handler that raises fails only its own
record (partial batch failure); after the queue's maxReceiveCount it is parked in the DLQ.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from wecom_oa.observability import logger, metrics

EventHandler = Callable[[Any], None]


def _card_click(event: Any) -> None:
    from wecom_oa.services import cards

    cards.on_click(event)


def _approval_change(event: Any) -> None:
    from wecom_oa.services import approvals

    approvals.on_wecom_approval_change(event)


def _contact_change(event: Any) -> None:
    from wecom_oa.services import wiring

    # The directory cache of this container must not serve a user or department that changed.
    wiring.invalidate_directory()
    logger.info("directory change", extra={"change_type": getattr(event, "change_type", None)})


def _chat_message(event: Any) -> None:
    from wecom_oa.services import tickets

    tickets.on_chat_message(event)


def _deferred_send(message: Any) -> None:
    from wecom_oa.services import sending

    sending.resume(message)


ROUTES: dict[str, EventHandler] = {
    "card_click": _card_click,
    "approval_change": _approval_change,
    "contact_change": _contact_change,
    "text": _chat_message,
    "deferred_send": _deferred_send,
}
# Our own queue messages: their handler takes the message itself (no WeCom event inside).
INTERNAL_KINDS = frozenset({"deferred_send"})


def process_message(body: str | dict[str, Any]) -> str:
    """Handle one queued event; returns the kind handled ('ignored:<kind>' when no route)."""
    from wecom_oa.models.wecom_events import load_event

    message = json.loads(body) if isinstance(body, str) else body
    if message.get("kind") in INTERNAL_KINDS:
        logger.append_keys(idempotency_key=message.get("key"))
        ROUTES[message["kind"]](message)
        return str(message["kind"])
    event = load_event(message["event"])
    handler = ROUTES.get(event.kind)
    if handler is None:
        logger.info("event without a handler", extra={"kind": event.kind})
        return f"ignored:{event.kind}"
    logger.append_keys(idempotency_key=message.get("key"))
    handler(event)
    metrics.add_metric(name=f"Event_{event.kind}", unit="Count", value=1)
    return event.kind
