"""Follow-up questions answered in the chat: what a card cannot ask (a comment, a rejection's own
words, a field a ticket needs to be resolved) is asked as a message, and the person's next text
message to the app is the answer.

One open question per person (a new one replaces the old), valid `FOLLOWUP_TTL`; an answer is
claimed once per callback event (a redelivered message does not answer twice, nor answer the
question its own handling asked next). Handlers: kind → "module:function" taking
(question, text, idempotency_key) and returning nothing; they may `ask` the next question.
"""

from __future__ import annotations

import importlib
from datetime import datetime, timedelta
from typing import Any

from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import get_clock
from wecom_oa.errors import Conflict
from wecom_oa.observability import logger

FOLLOWUP_TTL = timedelta(minutes=30)
HANDLERS = {
    "ticket": "wecom_oa.tickets.service:on_followup",
    "approval_reject": "wecom_oa.approvals.service:on_reject_followup",
}


def _texts() -> dict[str, Any]:
    import yaml

    from wecom_oa.settings import get_settings

    path = get_settings().templates_dir / "followups.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def ask(userid: str, kind: str, ref: dict[str, Any], prompt: str, *, asked_by: str = "") -> None:
    """Store the question (replacing any open one) and send `prompt` to `userid`."""
    from wecom_oa import wiring

    if kind not in HANDLERS:
        raise ValueError(f"unknown follow-up kind {kind!r}")
    now = get_clock().now()
    app_table().put({**Keys.followup(userid), "kind": kind, "ref": ref, "asked_at": now.isoformat(),
                     "asked_by": asked_by, "expires_at": int((now + FOLLOWUP_TTL).timestamp())})
    wiring.sender().send_text(prompt, touser=[userid])


def answer(event: Any) -> bool:
    """Route `event`'s text to the sender's open question. False when there is none (expired,
    or already answered by another message): the message is then handled as usual."""
    userid, key = event.from_user_name, event.idempotency_key
    item = app_table().get(Keys.followup(userid))
    if item is None or get_clock().now() - datetime.fromisoformat(item["asked_at"]) > FOLLOWUP_TTL:
        return False
    if item.get("asked_by") == key:
        return False  # the question this very message's handling asked: not an answer to itself
    try:
        app_table().update(Keys.followup(userid), set_fields={"answered_by": key},
                           condition="attribute_not_exists(answered_by) OR answered_by = :k",
                           condition_values={":k": key})
    except Conflict:
        return False
    text = (getattr(event, "content", "") or "").strip()
    module_name, func = HANDLERS[item["kind"]].split(":")
    texts = _texts()
    if text in set(texts.get("cancel_words") or ()):
        from wecom_oa import wiring

        logger.info("follow-up cancelled by its person", extra={"kind": item["kind"]})
        wiring.sender().send_text(texts["cancelled"], touser=[userid])
        return True
    getattr(importlib.import_module(module_name), func)(item, text, key)
    return True
