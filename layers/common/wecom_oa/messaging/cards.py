"""Interactive cards ↔ server-side state.

A card sent to WeCom carries only a short `task_id`; the record under `CARD#{task_id}` holds what
a click means (kind + reference), who may click, and — for state machine waits — the Step
Functions task token, which never leaves AWS. Clicks arrive through the callback worker:

- a click from someone who is not a recipient is ignored and logged;
- the latest `response_code` per user is kept so the card can be updated in place later
  (each code is single-use and valid 72 h: `take_response_code` consumes it exactly once); a kind
  in `KEEPS_OWN_CODE` gets the code with the click and stores it only when it does not use it at once;
- the kind's handler decides what the click does, idempotently.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import get_clock
from wecom_oa.errors import Conflict
from wecom_oa.observability import logger

# kind → "module:function" taking (card_record, click_event)
CARD_HANDLERS = {
    "approval_stage": "wecom_oa.approvals.service:on_card_click",
    "approval_reason": "wecom_oa.approvals.service:on_reason_click",
    "task": "wecom_oa.tasks.service:on_card_click",
    "notice_ack": "wecom_oa.notices.service:on_ack_click",
    "ticket": "wecom_oa.tickets.service:on_card_click",
    "alert": "wecom_oa.alerts.service:on_card_click",
}
# Kinds whose handler uses the click's response code itself (a stage card decided by the click is
# updated with it at once): storing it first would be a write the click does not need.
KEEPS_OWN_CODE = frozenset({"approval_stage"})
RESPONSE_CODE_TTL = timedelta(hours=72)


def register_card(task_id: str, kind: str, ref: dict[str, Any], recipients: Sequence[str], *,
                  task_token: str | None = None, ttl: timedelta = timedelta(days=30)) -> None:
    app_table().put_new(card_item(task_id, kind, ref, recipients, task_token=task_token, ttl=ttl))


def card_item(task_id: str, kind: str, ref: dict[str, Any], recipients: Sequence[str], *,
              task_token: str | None = None, ttl: timedelta = timedelta(days=30)) -> dict[str, Any]:
    """The record `register_card` creates (also put inside a caller's transaction: a card must be
    registered before it is sent, so a click never arrives for an unknown card)."""
    if kind not in CARD_HANDLERS:
        raise ValueError(f"unknown card kind {kind!r}")
    now = get_clock().now()
    return {**Keys.card_task(task_id), "kind": kind, "ref": ref, "recipients": list(recipients),
            "task_token": task_token, "status": "open", "created_at": now.isoformat(),
            "response_codes": {}, "expires_at": int((now + ttl).timestamp())}


def fresh_codes(card: dict[str, Any]) -> dict[str, str]:
    """userid (or a sender's `@send`) → unexpired response code stored on the card record."""
    now = get_clock().now()
    return {u: e["code"] for u, e in (card.get("response_codes") or {}).items()
            if e.get("code") and now - datetime.fromisoformat(e["at"]) <= RESPONSE_CODE_TTL}


def attach_token(task_id: str, task_token: str) -> dict[str, Any]:
    """Store a state machine wait's token on a registered card; returns the card as it is now (its
    `status` tells the caller whether a click already closed it)."""
    return app_table().update(Keys.card_task(task_id), set_fields={"task_token": task_token})


def get_card(task_id: str) -> dict[str, Any] | None:
    return app_table().get(Keys.card_task(task_id))


def remember_response_code(task_id: str, userid: str, code: str) -> None:
    if code:
        app_table().update(Keys.card_task(task_id), set_fields={
            ("response_codes", userid): {"code": code, "at": get_clock().now().isoformat()}})


def take_response_code(task_id: str, userid: str) -> str | None:
    """The user's latest unused, unexpired response code, consumed (WeCom accepts each once)."""
    card = get_card(task_id) or {}
    entry = (card.get("response_codes") or {}).get(userid)
    if not entry or get_clock().now() - datetime.fromisoformat(entry["at"]) > RESPONSE_CODE_TTL:
        return None
    try:
        app_table().update(Keys.card_task(task_id), remove_fields=[("response_codes", userid)],
                           condition="response_codes.#u.code = :c", condition_values={":c": entry["code"]},
                           condition_names={"#u": userid})
    except Conflict:
        return None  # another worker consumed it first
    return entry["code"]


def close_card(task_id: str, outcome: str) -> bool:
    """Close the card once; False if it already was (a second click is a no-op)."""
    try:
        app_table().update(Keys.card_task(task_id), set_fields={"status": "closed", "outcome": outcome},
                           condition="#st = :open", condition_values={":open": "open"},
                           condition_names={"#st": "status"})
    except Conflict:
        return False
    return True


def claim_final_update(task_id: str) -> bool:
    """True once per card: the caller makes its final update (the decided stage closing its cards,
    then the approval's outcome, would otherwise both update the same card)."""
    try:
        app_table().update(Keys.card_task(task_id), set_fields={"final_update_at": get_clock().now().isoformat()},
                           condition="attribute_exists(pk) AND attribute_not_exists(final_update_at)")
    except Conflict:
        return False
    return True


def clicker_id(event: Any) -> str:
    """Who clicked: the userid, or `corpid:userid` for a member of a downstream partner corp (the
    shared app's events come to our callback with their corp as ToUserName)."""
    from wecom_oa import wiring

    corp = getattr(event, "to_user_name", "") or ""
    if not corp or corp == wiring.wecom_credentials().corp_id:
        return event.from_user_name
    return f"{corp}:{event.from_user_name}"


def on_click(event: Any) -> None:
    from wecom_oa.wecom.client import base_task_id

    task_id = base_task_id(event.task_id)
    card = get_card(task_id)
    if card is None:
        logger.warning("click on an unknown card ignored", extra={"task_id": task_id})
        return
    clicker = clicker_id(event)
    if clicker not in card.get("recipients", []):
        logger.warning("click from a non-recipient ignored", extra={"task_id": task_id, "userid": clicker})
        return
    if card["kind"] not in KEEPS_OWN_CODE:
        remember_response_code(task_id, clicker, event.response_code)
    module_name, func = CARD_HANDLERS[card["kind"]].split(":")
    getattr(importlib.import_module(module_name), func)(card, event)
