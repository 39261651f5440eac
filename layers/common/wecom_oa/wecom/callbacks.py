"""WeCom callback ingress: verify → decrypt → parse → drop duplicates → store → enqueue → ack.

Contract with WeCom (PROTOCOL.md §1.5–1.6):
- GET answers the decrypted echostr as bare text/plain (no quotes, no newline).
- POST answers 200 with an empty body once the event is stored and enqueued. Nothing is stored
  for a request that fails a check: 403 for a bad signature or ReceiveId, 400 for malformed
  input, 413 for an oversize body. Never 500 for what a client sent.
- XML, outer and decrypted, is UTF-8 with no DTD or entity declaration in any encoding, checked
  before any parser runs (400 otherwise; `crypto.screen_xml`).
- Freshness (GET and POST): a correctly signed timestamp more than CALLBACK_TIMESTAMP_WINDOW_SECONDS
  from the process clock (`get_clock()`, so virtual clocks agree; stretched by 1 / scale on a
  fast-forwarded one, see `_freshness`) is refused with 403 before decryption. The dedup record outlives that window (settings enforce TTL > 2 × window), so a
  replay is either a duplicate or stale, never a second event.
- Delivery: the event record is written first (conditional put on the per-kind idempotency key,
  TTL ≥ 1 day), then enqueued, then marked enqueued. A retry of a request whose enqueue failed
  finds the record unmarked (and older than IN_FLIGHT_GRACE) and enqueues again; the worker's effects are idempotent, so the
  event has exactly one effect however often WeCom delivers it.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import get_clock
from wecom_oa.errors import AlreadyExists, InvalidInput, OAError, PayloadTooLarge
from wecom_oa.observability import logger, metrics


# Settings and wiring (pydantic models, ~150 ms cold) load on the first request, not at import: the
# callback module's import stays within the design budget (≤ 1.5 × `import boto3`).
def get_settings() -> Any:
    from wecom_oa.settings import get_settings as settings

    return settings()


def _wiring() -> Any:
    from wecom_oa import wiring

    return wiring


_QUERY_FIELDS = ("msg_signature", "timestamp", "nonce")
# A stored, not yet enqueued record younger than this belongs to a request still in flight (a
# concurrent duplicate); an older one means that request died before enqueueing, so a retry
# enqueues it. WeCom retries after its 5 s timeout, so the retry always sees the older record.
IN_FLIGHT_GRACE = timedelta(seconds=3)


def _crypto() -> Any:
    def build() -> Any:
        from wecom_oa.wecom.crypto import WeComCrypto

        creds = _wiring().wecom_credentials()
        return WeComCrypto(creds.token, creds.encoding_aes_key, creds.corp_id)

    return _wiring()._cached("callback_crypto", build)


def _query(event: dict[str, Any]) -> dict[str, str]:
    # rawQueryString + unquote (not unquote_plus): '+' in echostr is base64, not a space.
    raw = event.get("rawQueryString")
    if raw is None:
        return dict(event.get("queryStringParameters") or {})
    out: dict[str, str] = {}
    for part in raw.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        out.setdefault(unquote(key), unquote(value))
    return out


def _require(query: dict[str, str], names: tuple[str, ...]) -> list[str]:
    missing = [n for n in names if not query.get(n)]
    if missing:
        raise InvalidInput(f"missing query parameter(s): {', '.join(missing)}")
    return [query[n] for n in names]


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    limit = get_settings().callback_max_body_bytes
    if len(body) > limit * 2:  # cheap early refusal before decoding a huge string
        raise PayloadTooLarge(f"callback body exceeds {limit} bytes")
    try:
        raw = base64.b64decode(body, validate=True) if event.get("isBase64Encoded") else body.encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        raise InvalidInput("callback body is not valid base64/UTF-8") from None
    if len(raw) > limit:
        raise PayloadTooLarge(f"callback body exceeds {limit} bytes")
    if not raw.strip():
        raise InvalidInput("callback body is empty")
    return raw


def _freshness() -> dict[str, Any]:
    """Keyword arguments of the crypto's freshness check: the process clock and the window.

    The window bounds real delay (transit, clock skew). On a scaled virtual clock (local mode,
    LOCAL_TIME_SCALE < 1) the real milliseconds between the simulator signing and this check are
    whole virtual minutes, so the window is stretched by 1 / scale there; every other clock
    (system, manual, stepped) has scale 1 and gets the configured window as it is."""
    clock = get_clock()
    window = get_settings().callback_timestamp_window_seconds
    scale = getattr(clock, "scale", 1.0)
    if 0 < scale < 1:
        window = int(window / scale)
    return {"fresh_at": clock.now().timestamp(), "window_seconds": window}


def verify_url(event: dict[str, Any]) -> str:
    signature, timestamp, nonce, echostr = _require(_query(event), (*_QUERY_FIELDS, "echostr"))
    return _crypto().verify_url(signature, timestamp, nonce, echostr.replace(" ", "+"), **_freshness())


def receive(event: dict[str, Any]) -> str:
    """Returns the idempotency key of the accepted (or duplicate) event."""
    from wecom_oa.wecom.parser import parse_event

    signature, timestamp, nonce = _require(_query(event), _QUERY_FIELDS)
    body = _body(event)
    plaintext = _crypto().decrypt_callback(signature, timestamp, nonce, body, **_freshness())
    return accept(parse_event(plaintext))


def accept(parsed: Any) -> str:
    """Store a parsed event under its idempotency key and enqueue it once (the reconciler feeds
    missed approvals through here too). Returns the key."""
    key = parsed.idempotency_key
    now = get_clock().now()
    record = {
        **Keys.callback_event(key),
        "kind": parsed.kind,
        "event": parsed.model_dump(mode="json"),
        "received_at": now.isoformat(),
        "enqueued": False,
        "expires_at": int((now + timedelta(seconds=get_settings().callback_dedup_ttl_seconds)).timestamp()),
    }
    table = app_table()
    try:
        table.put_new(record)
    except AlreadyExists:
        stored = table.get(Keys.callback_event(key)) or {}
        in_flight = now - datetime.fromisoformat(stored.get("received_at", now.isoformat())) < IN_FLIGHT_GRACE
        if stored.get("enqueued") or in_flight:
            metrics.add_metric(name="CallbackDuplicate", unit="Count", value=1)
            logger.info("duplicate callback dropped", extra={"idempotency_key": key})
            return key
        logger.info("re-enqueueing a stored callback whose enqueue did not complete", extra={"idempotency_key": key})
    enqueue({"key": key, "kind": parsed.kind, "event": record["event"]})
    table.update(Keys.callback_event(key), set_fields={"enqueued": True})
    metrics.add_metric(name="CallbackAccepted", unit="Count", value=1)
    return key


def enqueue(message: dict[str, Any]) -> None:
    url = get_settings().events_queue_url
    if not url:
        from wecom_oa.errors import ConfigurationError

        raise ConfigurationError("EVENTS_QUEUE_URL is not set")
    _wiring().aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(message, ensure_ascii=False))


def handle_http(event: dict[str, Any]) -> dict[str, Any]:
    """API Gateway v2 event → response. Every rejection is logged with the check that failed."""
    method = (event.get("requestContext", {}).get("http", {}).get("method") or "GET").upper()
    try:
        if method == "GET":
            return {"statusCode": 200, "headers": {"content-type": "text/plain; charset=utf-8"},
                    "body": verify_url(event)}
        if method == "POST":
            receive(event)
            return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": ""}
        return _reject(405, "method_not_allowed", f"{method} is not supported")
    except OAError as exc:
        if exc.status >= 500:
            logger.error("callback failed", extra={"error_code": exc.code, "check": type(exc).__name__})
            return _reject(exc.status, exc.code, "callback could not be processed")
        metrics.add_metric(name="CallbackRejected", unit="Count", value=1)
        logger.warning("callback rejected", extra={"check": type(exc).__name__, "status": exc.status,
                                                   "reason": exc.message})
        return _reject(exc.status, exc.code, exc.message)


def _reject(status: int, code: str, message: str) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"error": {"code": code, "message": message}})}


def is_known(key: str) -> bool:
    return app_table().get(Keys.callback_event(key)) is not None
