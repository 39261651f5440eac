"""Queue worker: route each stored WeCom event to its domain handler, and our own queue messages
(`INTERNAL_KINDS`: the paced sender's `deferred_send`, notices' batches, a workflow task closed) to theirs.

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
    from wecom_oa.messaging import cards

    cards.on_click(event)


def _approval_change(event: Any) -> None:
    from wecom_oa.approvals import service as approvals

    approvals.on_wecom_approval_change(event)


# change_contact ChangeType → what it can make stale in a directory cache (see
# WeComDirectory.forget_change). Not listed (delete_user, a renamed or disabled user that others
# name as direct leader, types WeCom adds later): the whole cache.
_CONTACT_SCOPES = {
    "create_user": "user", "update_user": "user",
    "create_party": "party", "update_party": "party", "delete_party": "party",
    "update_tag": "tag",
}


def _contact_scope(event: Any) -> str | None:
    if event.change_type == "update_user" and (event.new_user_id or event.status is not None):
        return None
    return _CONTACT_SCOPES.get(event.change_type)


def _contact_change(event: Any) -> None:
    """Evict the change in this container's directory cache, then bump the shared directory
    version so every other container clears its cache at its next check (WeComDirectory).
    Raises (the record is retried) when the bump fails: other containers would stay stale."""
    from wecom_oa import wiring

    own = wiring.built_directory()
    scope = _contact_scope(event)
    if own is not None:
        if scope is None:
            own.forget()
        else:
            own.forget_change(scope, [u for u in (event.user_id, event.new_user_id) if u])
    version = wiring.directory_version().bump()
    if own is not None:
        own.note_version(version)
    logger.info("directory change", extra={"change_type": event.change_type, "directory_version": version})


def _chat_message(event: Any) -> None:
    """A text to the app answers the sender's open follow-up question, else may open a ticket."""
    from wecom_oa.messaging import followups
    from wecom_oa.tickets import service as tickets

    if not followups.answer(event):
        tickets.on_chat_message(event)


def _deferred_send(message: Any) -> None:
    """A pending send is due (messaging/sending.py): re-attempt it."""
    from wecom_oa import wiring

    outcome = wiring.sender().resume(message)
    metrics.add_metric(name=f"DeferredSend_{outcome}", unit="Count", value=1)


def _notice_send(message: Any) -> None:
    from wecom_oa.notices import service as notices

    notices.send_queued(message)


def _workflow_task_closed(message: Any) -> None:
    from wecom_oa.workflows import service as workflows

    workflows.on_task_closed(message)


ROUTES: dict[str, EventHandler] = {
    "card_click": _card_click,
    "approval_change": _approval_change,
    "contact_change": _contact_change,
    "text": _chat_message,
    "deferred_send": _deferred_send,
    "notice_send": _notice_send,
    "workflow_task_closed": _workflow_task_closed,
}
# Our own queue messages: their handler takes the message itself (no WeCom event inside).
INTERNAL_KINDS = frozenset({"deferred_send", "notice_send", "workflow_task_closed"})


def process_message(body: str | dict[str, Any]) -> str:
    """Handle one queued event; returns the kind handled ('ignored:<kind>' when no route)."""
    from wecom_oa.wecom.events import load_event

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
