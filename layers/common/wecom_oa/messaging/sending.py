"""Paced app messages: every app message of the services goes through the send ledger, so WeCom's
per-member limits (30/min, 1000/h per app, PROTOCOL §3.2) delay messages instead of dropping them.

Contract:
- `PacedSender.send_*` (same signatures as `WeComClient.send_*`) reserves the explicit userids in
  the ledger and sends now to those that fit, together with every party and tag (these cannot be
  attributed to members, so they are not counted; neither is `@all`, which is sent at once).
  For the others it stores a pending-send record (`Keys.pending_send`) and enqueues a
  `deferred_send` message on the events queue, delayed until the ledger's `retry_at` (SQS allows at
  most 900 s; the worker re-checks `retry_at` and delays again until it is due).
- `resume(message)` (the queue worker's `deferred_send` route) re-attempts through the same ledger.
  The record is rewritten (remaining recipients) or retired conditionally on its `version`; a
  message for an older version is stale and dropped. Delivery is at-least-once: a crash between a
  send and that write repeats the text send on redelivery; template cards do not repeat (their
  deferred task ids depend on the version, and WeCom refuses a reused task id, 42014).
- Text and markdown longer than one message are split here and each part is paced as one message;
  a member deferred for one part is deferred for the following parts too (never a later part
  first). Deferred parts are separate records, so their relative order is not guaranteed.
- Template cards sent later carry task ids `<task_id>@b<n>` with n ≥ DEFERRED_BATCH_BASE (task ids
  are single-use; `base_task_id` maps a click back to the registered card).

Durable sends (outside a state machine task):
- A send that fails transiently (WeCom busy, 45009/45033 throttling, HTTP 5xx, timeouts, network,
  AWS throttling) after the client's own retries is not lost: it becomes a pending send of kind
  `retry` with `attempts`, the error and its business `ref` (`about(ticket_id=...)`), re-attempted
  from the queue with backoff (`RETRY_BACKOFF`, about an hour in all, so 30 minutes of throttling
  delay messages but lose none). A configuration error (bad secret, IP not trusted) parks it at once.
- Re-attempts are exactly-once: a card keeps its task ids (an attempt that did land makes WeCom
  answer 42014 for it, which counts as delivered) and text is re-sent with duplicate checking on
  (WeCom drops the same content to the same people within `duplicate_check_interval`).
- After `RETRY_ATTEMPTS` the send is parked: status `parked`, the reason, an entry in the parked
  list (`Keys.parked_send_index`), metric `SendParked` (alarmed), an ERROR log with the ref. An
  operator lists and replays parked sends (`GET /outbox/parked`, `POST /outbox/parked/{id}/replay`);
  a replay is conditional on the status, so it happens once.
- Inside a state machine task (`wecom_oa.aws.asl.in_state_machine`) transient errors are raised instead:
  the state machine owns the retry (ASL Retry) and records the failure in its history.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from wecom_oa.aws.asl import asl_name, in_state_machine
from wecom_oa.aws.dynamo import DynamoTable, Keys
from wecom_oa.clock import Clock, get_clock
from wecom_oa.errors import ConfigurationError, Conflict, InvalidInput, NotFound, OAError, StaleVersion
from wecom_oa.observability import logger, metrics
from wecom_oa.validation import Model
from wecom_oa.wecom.client import (
    MARKDOWN_LIMIT,
    MAX_USERS,
    TASK_ID_RE,
    TEXT_LIMIT,
    TEXTCARD_DESCRIPTION_LIMIT,
    TEXTCARD_TITLE_LIMIT,
    SendResult,
    base_task_id,
    batch_task_id,
    check_size,
    split_utf8,
)
from wecom_oa.wecom.errors import TaskIdDuplicate, WeComConfigError
from wecom_oa.wecom.ratelimit import SendLedger, SendPlan

DEFERRED_KIND = "deferred_send"
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds maximum
REDELAY_MIN_SECONDS = 1  # a not-yet-due message never loops without a delay
DEFERRED_BATCH_BASE = 1000  # task-id batch index of deferred cards: version * base + chunk
PENDING_TTL = timedelta(days=2)
# Re-attempts of a failed send: waits before attempt 2, 3, ... (seconds of the clock). Their sum, about
# 70 minutes, outlasts 30 minutes of WeCom throttling with room to spare; then the send is parked.
RETRY_BACKOFF = (30, 60, 120, 240, 480, 600, 600, 600, 600, 600, 600)
RETRY_ATTEMPTS = len(RETRY_BACKOFF) + 1
PARKED_LIST = 200  # GET /outbox/parked answers at most this many, oldest first

_ref: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("outbound_ref", default=None)


@contextlib.contextmanager
def about(**ids: Any) -> Iterator[None]:
    """Label the sends made inside with business ids (ticket_id=..., approval_id=...): they are
    kept on a failed send's record and named in every log line about it."""
    token = _ref.set({**current_ref(), **{k: str(v) for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _ref.reset(token)


def current_ref() -> dict[str, str]:
    return dict(_ref.get() or {})

MsgType = Literal["text", "markdown", "textcard", "template_card", "card_update"]
Enqueue = Callable[[dict[str, Any], int], None]


class PacedResult(SendResult):
    """What was sent now (the `SendResult` fields) and who will be sent to later."""

    deferred: list[str] = Field(default_factory=list)
    retry_at: datetime | None = None
    pending_ids: list[str] = Field(default_factory=list)


class PendingSend(Model):
    """`kind` `paced`: held back by the send ledger. `retry`: a send that failed and is re-attempted
    as it was (same recipients, parties, tags and task ids)."""

    id: str
    app: str
    msgtype: MsgType
    payload: dict[str, Any]
    touser: list[str] = Field(default_factory=list)
    toparty: list[str | int] = Field(default_factory=list)
    totag: list[str | int] = Field(default_factory=list)
    options: dict[str, bool] = Field(default_factory=dict)
    retry_at: datetime
    version: int = 1
    created_at: datetime
    kind: Literal["paced", "retry"] = "paced"
    attempts: int = 0
    last_error: str | None = None
    ref: dict[str, str] = Field(default_factory=dict)
    status: Literal["pending", "parked", "done"] = "pending"
    parked_at: datetime | None = None


class DeferredSendMessage(Model):
    """Body of a `deferred_send` queue message."""

    kind: Literal["deferred_send"] = DEFERRED_KIND
    key: str
    pending_id: str
    version: int


class PacedSender:
    def __init__(self, client: Any, ledger: SendLedger, table: DynamoTable, enqueue: Enqueue, *,
                 clock: Clock | None = None, app: str | None = None) -> None:
        self.client = client
        self.ledger = ledger
        self.table = table
        self._enqueue = enqueue
        self._clock = clock
        self.app = app or str(client.agent_id)

    @property
    def clock(self) -> Clock:
        return self._clock or get_clock()

    # -- the client's send methods, paced ---------------------------------------------------------
    def send_text(self, content: str, *, touser: Sequence[str] = (), toparty: Sequence[str | int] = (),
                  totag: Sequence[str | int] = (), safe: bool = False, duplicate_check: bool = False,
                  enable_id_trans: bool = False) -> PacedResult:
        options = {"safe": safe, "duplicate_check": duplicate_check, "enable_id_trans": enable_id_trans}
        return self._send_parts("text", split_utf8(content, TEXT_LIMIT), touser, toparty, totag, options)

    def send_markdown(self, content: str, *, touser: Sequence[str] = (), toparty: Sequence[str | int] = (),
                      totag: Sequence[str | int] = (), duplicate_check: bool = False) -> PacedResult:
        options = {"duplicate_check": duplicate_check}
        return self._send_parts("markdown", split_utf8(content, MARKDOWN_LIMIT), touser, toparty, totag, options)

    def send_textcard(self, title: str, description: str, url: str, *, btntxt: str | None = None,
                      touser: Sequence[str] = (), toparty: Sequence[str | int] = (),
                      totag: Sequence[str | int] = (), duplicate_check: bool = False) -> PacedResult:
        check_size("textcard title", title, TEXTCARD_TITLE_LIMIT)
        check_size("textcard description", description, TEXTCARD_DESCRIPTION_LIMIT)
        if not url:
            raise InvalidInput("textcard url is required")
        payload = {"title": title, "description": description, "url": url}
        if btntxt is not None:  # omitted: WeCom's own default button text
            payload["btntxt"] = btntxt
        result = PacedResult()
        self._send_one("textcard", payload, touser, toparty, totag, {"duplicate_check": duplicate_check},
                       result, {})
        return result

    def send_template_card(self, card: Mapping[str, Any], *, touser: Sequence[str] = (),
                           toparty: Sequence[str | int] = (), totag: Sequence[str | int] = (),
                           enable_id_trans: bool = False, duplicate_check: bool = False,
                           paced: bool = True) -> PacedResult:
        """`paced=False`: a broadcast batch (one message per member, PROTOCOL §3.2) goes out without
        the per-member ledger, which would cost one write per recipient; it is still durable."""
        task_id = card.get("task_id")
        if task_id is not None and not TASK_ID_RE.match(str(task_id)):
            raise InvalidInput("template_card.task_id must match [0-9A-Za-z_-@] and be at most 128 bytes")
        options = {"enable_id_trans": enable_id_trans, "duplicate_check": duplicate_check}
        result = PacedResult()
        if paced:
            self._send_one("template_card", dict(card), touser, toparty, totag, options, result, {})
        else:
            self._deliver_durably("template_card", dict(card), list(dict.fromkeys(touser)), toparty, totag,
                                  options, result)
        return result

    def update_template_card(self, response_code: str, *, userids: Sequence[str],
                             replace_name: str | None = None, card: Mapping[str, Any] | None = None) -> PacedResult:
        """Update a sent card for `userids` (grey its button with `replace_name`, or replace it with
        `card`), durably like a send: a transient failure is re-attempted from the queue, even inside a
        state machine task (a retried task could not redo it: the response code is taken once).

        The code is single-use, so a re-attempt after an ambiguous failure that WeCom refuses (40058,
        invalid parameter) means the first attempt landed (or the 72 h code expired): the update ends."""
        if (replace_name is None) == (card is None):
            raise InvalidInput("update_template_card needs exactly one of replace_name or card")
        payload: dict[str, Any] = {"response_code": response_code}
        if replace_name is not None:
            payload["replace_name"] = replace_name
        else:
            payload["card"] = dict(card or {})
        result = PacedResult()
        self._deliver_durably("card_update", payload, list(dict.fromkeys(userids)), (), (), {}, result,
                              raise_in_state_machine=False)
        return result

    # -- the deferred path (queue worker) ---------------------------------------------------------
    def resume(self, message: Mapping[str, Any]) -> str:
        """Re-attempt one pending send; returns 'done', 'deferred', 'waiting', 'stale' or 'gone'."""
        msg = DeferredSendMessage.model_validate(message)
        item = self.table.get(Keys.pending_send(msg.pending_id))
        if item is None:
            return "gone"
        record = PendingSend.model_validate(item)
        if record.version != msg.version or record.status != "pending":
            return "stale"
        now = self.clock.now()
        if now < record.retry_at:
            self._enqueue_at(msg.model_dump(), record.retry_at, REDELAY_MIN_SECONDS)
            return "waiting"
        if record.kind == "retry":
            return self._reattempt(record)
        plan = self.ledger.reserve(record.app, record.touser, now)
        if plan.allowed:
            self._deliver_deferred(record, plan.allowed)
        return self._settle(record, plan)

    # -- internals --------------------------------------------------------------------------------
    def _send_parts(self, msgtype: MsgType, parts: list[str], touser: Sequence[str], toparty: Sequence[str | int],
                    totag: Sequence[str | int], options: dict[str, bool]) -> PacedResult:
        result = PacedResult()
        held: dict[str, datetime] = {}
        for part in parts:
            self._send_one(msgtype, {"content": part}, touser, toparty, totag, options, result, held)
        return result

    def _send_one(self, msgtype: MsgType, payload: dict[str, Any], touser: Sequence[str],
                  toparty: Sequence[str | int], totag: Sequence[str | int], options: dict[str, bool],
                  result: PacedResult, held: dict[str, datetime]) -> None:
        """`held`: members deferred by an earlier part of the same message (kept deferred)."""
        users = list(dict.fromkeys(u for u in touser if u))
        if not (users or toparty or totag):
            raise InvalidInput("no recipients: touser, toparty and totag are all empty")
        if "@all" in users:
            plan = SendPlan(allowed=["@all"])
        else:
            plan = self.ledger.reserve(self.app, [u for u in users if u not in held], self.clock.now())
            plan.deferred.update({u: held[u] for u in users if u in held})
        if plan.allowed or toparty or totag:
            self._deliver_durably(msgtype, payload, plan.allowed, toparty, totag, options, result)
        if plan.deferred:
            held.update(plan.deferred)
            self._defer(msgtype, payload, plan.deferred, options, result)

    def _deliver_durably(self, msgtype: MsgType, payload: dict[str, Any], touser: Sequence[str],
                         toparty: Sequence[str | int], totag: Sequence[str | int], options: dict[str, bool],
                         result: PacedResult, *, raise_in_state_machine: bool = True) -> None:
        try:
            self._deliver(msgtype, payload, touser, toparty, totag, options, result)
        except OAError as exc:
            if (raise_in_state_machine and in_state_machine()) or not _retried(exc):
                raise
            self._retry_later(msgtype, payload, touser, toparty, totag, options, exc, result)

    def _deliver(self, msgtype: MsgType, payload: Mapping[str, Any], touser: Sequence[str],
                 toparty: Sequence[str | int], totag: Sequence[str | int], options: Mapping[str, bool],
                 result: SendResult) -> None:
        if msgtype == "card_update":
            self.client.update_template_card(payload["response_code"], userids=list(touser),
                                             replace_name=payload.get("replace_name"), card=payload.get("card"))
            result.calls += 1
            return
        to = {"touser": list(touser), "toparty": list(toparty), "totag": list(totag)}
        if msgtype == "text":
            sent = self.client.send_text(payload["content"], **to, **options)
        elif msgtype == "markdown":
            sent = self.client.send_markdown(payload["content"], **to, **options)
        elif msgtype == "textcard":
            sent = self.client.send_textcard(payload["title"], payload["description"], payload["url"],
                                             btntxt=payload.get("btntxt"), **to, **options)
        else:
            sent = self.client.send_template_card(payload, **to, **options)
        _merge(result, sent)

    def _deliver_deferred(self, record: PendingSend, users: list[str]) -> None:
        """Cards go in chunks of ≤ MAX_USERS, each under its own version-derived task id, so a
        redelivered attempt is refused by WeCom (42014) instead of sending the card twice."""
        task_id = record.payload.get("task_id") if record.msgtype == "template_card" else None
        if not task_id:
            self._deliver(record.msgtype, record.payload, users, (), (), record.options, SendResult())
            return
        for i in range(math.ceil(len(users) / MAX_USERS)):
            chunk = users[i * MAX_USERS:(i + 1) * MAX_USERS]
            card = {**record.payload, "task_id": batch_task_id(base_task_id(str(task_id)),
                                                               DEFERRED_BATCH_BASE * record.version + i)}
            try:
                self._deliver("template_card", card, chunk, (), (), record.options, SendResult())
            except TaskIdDuplicate:
                logger.info("deferred card already sent by an earlier attempt", extra={"task_id": card["task_id"]})

    def _defer(self, msgtype: MsgType, payload: dict[str, Any], deferred: Mapping[str, datetime],
               options: dict[str, bool], result: PacedResult) -> None:
        now = self.clock.now()
        retry_at = min(deferred.values())
        record = PendingSend(id=uuid.uuid4().hex, app=self.app, msgtype=msgtype, payload=payload,
                             touser=list(deferred), options=options, retry_at=retry_at, created_at=now)
        self.table.put_new({**Keys.pending_send(record.id), **record.model_dump(mode="json"),
                            "expires_at": int((retry_at + PENDING_TTL).timestamp())})
        self._schedule(record)
        result.deferred.extend(u for u in deferred if u not in result.deferred)
        result.pending_ids.append(record.id)
        result.retry_at = min(retry_at, result.retry_at or retry_at)
        metrics.add_metric(name="SendDeferred", unit="Count", value=len(deferred))
        logger.info("app message deferred by the send ledger",
                    extra={"pending_id": record.id, "recipients": len(deferred), "retry_at": retry_at.isoformat()})

    # -- failed sends: re-attempted as they were, then parked ---------------------------------------
    def _retry_later(self, msgtype: MsgType, payload: dict[str, Any], touser: Sequence[str],
                     toparty: Sequence[str | int], totag: Sequence[str | int], options: dict[str, bool],
                     exc: OAError, result: PacedResult) -> None:
        now = self.clock.now()
        ref = current_ref()
        record = PendingSend(id=uuid.uuid4().hex, app=self.app, msgtype=msgtype, payload=payload,
                             touser=list(touser), toparty=list(toparty), totag=list(totag), options=options,
                             retry_at=now, created_at=now, kind="retry", attempts=1, ref=ref)
        self.table.put_new({**Keys.pending_send(record.id), **record.model_dump(mode="json"),
                            "expires_at": int((now + PENDING_TTL).timestamp())})
        result.deferred.extend(u for u in touser if u not in result.deferred)
        result.pending_ids.append(record.id)
        self._after_failure(record, exc)

    def _reattempt(self, record: PendingSend) -> str:
        try:
            self._redeliver(record)
        except OAError as exc:
            if not _retried(exc):
                logger.error("failed app message dropped: WeCom refused it", extra={
                    **record.ref, "pending_id": record.id, "error": type(exc).__name__,
                    "errcode": getattr(exc, "errcode", None)})
                metrics.add_metric(name="SendDropped", unit="Count", value=1)
                self.table.delete(Keys.pending_send(record.id))
                return "dropped"
            try:
                self.table.update(Keys.pending_send(record.id), set_fields={"attempts": record.attempts + 1},
                                  expected_version=record.version)
            except StaleVersion:
                return "stale"
            return self._after_failure(record.model_copy(update={"attempts": record.attempts + 1,
                                                                 "version": record.version + 1}), exc)
        try:
            self.table.update(Keys.pending_send(record.id), set_fields={"status": "done"},
                              expected_version=record.version)
        except StaleVersion:
            return "stale"
        self.table.delete(Keys.pending_send(record.id))
        logger.info("failed app message delivered", extra={**record.ref, "pending_id": record.id,
                                                           "attempts": record.attempts + 1})
        metrics.add_metric(name="SendRecovered", unit="Count", value=1)
        return "done"

    def _redeliver(self, record: PendingSend) -> None:
        """The same message to the same people: cards under the task ids of the first attempt (chunks
        that landed answer 42014 and count as delivered), anything else with duplicate checking on."""
        options = dict(record.options)
        if record.msgtype == "card_update":
            try:
                self._deliver("card_update", record.payload, record.touser, (), (), options, SendResult())
            except OAError as exc:
                if _retried(exc):
                    raise
                logger.info("card update refused on a re-attempt: its single-use code was taken by an earlier "
                            "attempt that landed, or expired", extra={**record.ref, "pending_id": record.id,
                                                                      "errcode": getattr(exc, "errcode", None)})
            return
        task_id = record.payload.get("task_id") if record.msgtype == "template_card" else None
        if not task_id:
            options["duplicate_check"] = True
            self._deliver(record.msgtype, record.payload, record.touser, record.toparty, record.totag, options,
                          SendResult())
            return
        chunks = [record.touser[i:i + MAX_USERS] for i in range(0, len(record.touser), MAX_USERS)] or [[]]
        for i, chunk in enumerate(chunks):
            card = {**record.payload, "task_id": batch_task_id(str(task_id), i)}
            parties, tags = (record.toparty, record.totag) if i == 0 else ((), ())
            try:
                self._deliver("template_card", card, chunk, parties, tags, options, SendResult())
            except TaskIdDuplicate:
                logger.info("card already delivered by an earlier attempt", extra={**record.ref,
                                                                                   "task_id": card["task_id"]})

    def _after_failure(self, record: PendingSend, exc: OAError) -> str:
        """Schedule the next attempt, or park the send (configuration errors at once)."""
        reason = f"{type(exc).__name__}: {exc.message}"[:500]
        log = {**record.ref, "pending_id": record.id, "attempts": record.attempts, "error": type(exc).__name__,
               "errcode": getattr(exc, "errcode", None), "msgtype": record.msgtype}
        if isinstance(exc, WeComConfigError | ConfigurationError) or record.attempts >= RETRY_ATTEMPTS:
            return self._park(record, reason, log)
        retry_at = self.clock.now() + timedelta(seconds=RETRY_BACKOFF[record.attempts - 1])
        self.table.update(Keys.pending_send(record.id), set_fields={"retry_at": retry_at.isoformat(),
                                                                    "last_error": reason})
        self._schedule(record.model_copy(update={"retry_at": retry_at}))
        metrics.add_metric(name="SendRetried", unit="Count", value=1)
        logger.warning("app message failed; re-attempted later", extra={**log, "retry_at": retry_at.isoformat()})
        return "retrying"

    def _park(self, record: PendingSend, reason: str, log: dict[str, Any]) -> str:
        now = self.clock.now()
        self.table.update(Keys.pending_send(record.id), set_fields={"status": "parked", "last_error": reason,
                                                                    "parked_at": now.isoformat()},
                          remove_fields=["expires_at"])
        self.table.put({**Keys.parked_send_index(now.isoformat(), record.id), "pending_id": record.id,
                        "summary": _summary(record.model_copy(update={"last_error": reason, "parked_at": now}))})
        metrics.add_metric(name="SendParked", unit="Count", value=1)
        logger.error("app message parked: retries exhausted or WeCom is misconfigured; replay after the fix",
                     extra=log)
        return "parked"

    # -- operators: parked sends ----------------------------------------------------------------------
    def parked(self) -> list[dict[str, Any]]:
        """The parked sends, oldest first, from one query: each index entry carries its summary (it is
        written when the send is parked and deleted when it is replayed)."""
        out = []
        for entry in self.table.query(Keys.parked_send_index()["pk"], limit=PARKED_LIST):
            if "summary" in entry:
                out.append(entry["summary"])
                continue
            item = self.table.get(Keys.pending_send(entry["pending_id"]))  # an entry from before summaries
            if item is not None and item.get("status") == "parked":
                out.append(_summary(PendingSend.model_validate(item)))
        return out

    def replay(self, pending_id: str) -> dict[str, Any]:
        """Queue a parked send for one more round of attempts, once (conditional on its status)."""
        item = self.table.get(Keys.pending_send(pending_id))
        if item is None or item.get("kind") != "retry":
            raise NotFound(f"no parked send {pending_id}")
        record = PendingSend.model_validate(item)
        now = self.clock.now()
        try:
            self.table.update(Keys.pending_send(pending_id),
                              set_fields={"status": "pending", "attempts": 0, "retry_at": now.isoformat(),
                                          "expires_at": int((now + PENDING_TTL).timestamp())},
                              expected_version=record.version, condition="#st = :parked",
                              condition_names={"#st": "status"}, condition_values={":parked": "parked"})
        except (StaleVersion, Conflict):
            raise Conflict(f"send {pending_id} is not parked (already replayed or delivered)") from None
        if record.parked_at is not None:
            self.table.delete(Keys.parked_send_index(record.parked_at.isoformat(), pending_id))
        self._schedule(record.model_copy(update={"version": record.version + 1, "retry_at": now}))
        logger.info("parked app message replayed", extra={**record.ref, "pending_id": pending_id})
        return {"id": pending_id, "status": "pending", "ref": record.ref}

    def _settle(self, record: PendingSend, plan: SendPlan) -> str:
        """Rewrite the record with who is still deferred, or retire it; conditional on its version."""
        key = Keys.pending_send(record.id)
        try:
            if plan.deferred:
                retry_at = min(plan.deferred.values())
                self.table.update(key, set_fields={"touser": list(plan.deferred), "retry_at": retry_at.isoformat()},
                                  expected_version=record.version)
                self._schedule(record.model_copy(update={"version": record.version + 1, "retry_at": retry_at}))
                return "deferred"
            self.table.update(key, set_fields={"status": "done"}, expected_version=record.version)
        except StaleVersion:
            return "stale"  # a concurrent delivery of the same message settled it
        self.table.delete(key)
        return "done"

    def _schedule(self, record: PendingSend) -> None:
        message = DeferredSendMessage(key=f"{DEFERRED_KIND}:{record.id}:{record.version}",
                                      pending_id=record.id, version=record.version).model_dump()
        self._enqueue_at(message, record.retry_at, 0)

    def _enqueue_at(self, message: dict[str, Any], retry_at: datetime, minimum: int) -> None:
        """Queue `message` to arrive at `retry_at`. Local mode's stepped clock runs the delay itself
        (a timer), since SQS delays are in real seconds and that clock moves only when stepped."""
        later = getattr(self.clock, "call_later", None)
        wait = (retry_at - self.clock.now()).total_seconds()
        if later is not None and wait > 0:
            later(wait, lambda: self._enqueue(message, 0))
            return
        self._enqueue(message, self._delay(retry_at, minimum))

    def _delay(self, retry_at: datetime, minimum: int) -> int:
        """Real seconds until `retry_at` on this clock (a virtual clock runs faster), capped for SQS."""
        seconds = (retry_at - self.clock.now()).total_seconds()
        real = getattr(self.clock, "real_seconds", lambda s: max(0.0, s))(seconds)
        return int(min(MAX_DELAY_SECONDS, max(minimum, math.ceil(real))))


def _summary(record: PendingSend) -> dict[str, Any]:
    """What an operator sees of a parked send (`GET /outbox/parked`)."""
    return record.model_dump(mode="json", include={"id", "ref", "msgtype", "touser", "toparty", "totag", "attempts",
                                                   "last_error", "created_at", "parked_at"})


def _retried(exc: BaseException) -> bool:
    """Worth another attempt later: transient (asl.asl_name) or a configuration error an operator
    can fix (parked at once, then replayed)."""
    return asl_name(exc) is not None or isinstance(exc, WeComConfigError | ConfigurationError)


def _merge(into: SendResult, sent: SendResult) -> None:
    into.calls += sent.calls
    for field in ("msgids", "response_codes", "task_ids", "invaliduser", "invalidparty", "invalidtag",
                  "unlicenseduser"):
        getattr(into, field).extend(getattr(sent, field))
