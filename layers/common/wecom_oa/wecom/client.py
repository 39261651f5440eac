"""The WeCom API client: one class, one request pipeline (PROTOCOL §3).

Pipeline (`WeComClient._request`): access_token from the shared `TokenCache` → JSON body encoded
UTF-8 with `ensure_ascii=False` (WeCom's limits are UTF-8 bytes) → one `httpx.Client` per container
→ `errcode` mapped to `wecom_oa.wecom.errors` →
- 40014 / 42001 / 41001: invalidate that token, fetch a new one and retry **once**; a second
  token error is raised (no loop);
- retryable (−1, 45033, 5xx, timeouts): bounded exponential backoff with jitter, `max_retries`
  times. Calls that may already have taken effect (5xx, read timeouts on a send) are retried only
  when the call is idempotent (reads, or sends with `duplicate_check=True`). 45009 is raised at once:
  its window is ≥ 60 s, longer than a Lambda should sleep — `WeComFrequencyLimited` is for ASL Retry;
- everything else is raised without retry (configuration and data errors never are). HTTP 501
  carrying the sandbox-only errcode 9990501 is `SandboxNotImplemented` (local mode: the sandbox
  lacks that API), not a retryable 5xx.

Nothing logged or raised carries the secret or the access token; both are registered with the log
redactor as a second line of defence.

Message sends batch recipients (≤1000 users / 100 parties / 100 tags per call: ⌈N/1000⌉ calls for
N users) and split text/markdown longer than 2048 UTF-8 bytes into several messages on line
boundaries (never inside a character, never truncated). `SendResult` aggregates every call.
"""

from __future__ import annotations

import json
import logging
import math
import random
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wecom_oa.clock import Clock, get_clock
from wecom_oa.directory import Department, Tag, User
from wecom_oa.errors import InvalidInput
from wecom_oa.observability import logger, redactor
from wecom_oa.validation import Model
from wecom_oa.wecom.errors import (
    SANDBOX_NOT_IMPLEMENTED,
    ContentTooLarge,
    WeComError,
    WeComRetryable,
    WeComServerError,
    WeComTimeout,
    WeComTokenInvalid,
    error_for,
)
from wecom_oa.wecom.token_cache import TokenCache

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com/cgi-bin"
MAX_USERS, MAX_PARTIES, MAX_TAGS = 1000, 100, 100
TEXT_LIMIT = 2048
MARKDOWN_LIMIT = 2048
TEXTCARD_TITLE_LIMIT, TEXTCARD_DESCRIPTION_LIMIT = 128, 512
BACKOFF_BASE, BACKOFF_CAP = 0.5, 8.0
TASK_ID_RE = re.compile(r"^[0-9A-Za-z_\-@]{1,128}$")
_BATCH_SEP = "@b"

_http: httpx.Client | None = None
_http_lock = threading.Lock()
_CREDENTIAL_QUERY = re.compile(r"(access_token|corpsecret|key)=[^&\s\"']+", re.IGNORECASE)


class _QueryCredentialFilter(logging.Filter):
    """httpx logs every request URL at INFO, and WeCom puts credentials in the query string
    (`corpsecret`, `access_token`, robot `key`): mask them before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "=" in message:
            record.msg = _CREDENTIAL_QUERY.sub(lambda m: f"{m.group(1)}=***", message)
            record.args = ()
        return True


_query_filter = _QueryCredentialFilter()


def install_log_scrubber() -> None:
    """Attach the credential filter to the httpx/httpcore loggers (idempotent)."""
    for name in ("httpx", "httpcore"):
        log = logging.getLogger(name)
        if _query_filter not in log.filters:
            log.addFilter(_query_filter)


def default_http_client() -> httpx.Client:
    """The container's shared httpx client (connection reuse across invocations), created on first use."""
    global _http
    install_log_scrubber()
    if _http is None:
        with _http_lock:
            if _http is None:
                _http = httpx.Client(
                    timeout=httpx.Timeout(10.0, connect=3.0, pool=3.0),
                    limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
                )
    return _http


# -- text sizes ---------------------------------------------------------------------------------

def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def split_utf8(text: str, limit: int) -> list[str]:
    """Split `text` into parts of at most `limit` UTF-8 bytes, preferring line boundaries.

    Lines are packed greedily; a single line longer than `limit` is cut between characters (never
    inside one). Nothing is truncated: only empty lines falling exactly on a split point are dropped,
    because WeCom refuses empty messages (44004).
    """
    if limit < 4:
        raise ValueError("limit must hold at least one UTF-8 character")
    if not text.strip():
        raise InvalidInput("message content is empty")
    parts: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        for piece in _cut_line(line, limit):
            candidate = piece if current is None else f"{current}\n{piece}"
            if utf8_len(candidate) <= limit:
                current = candidate
            else:
                parts.append(current or "")
                current = piece
    parts.append(current or "")
    return [p for p in parts if p]


def _cut_line(line: str, limit: int) -> list[str]:
    if utf8_len(line) <= limit:
        return [line]
    pieces, start, size = [], 0, 0
    for i, ch in enumerate(line):
        width = utf8_len(ch)
        if size + width > limit:
            pieces.append(line[start:i])
            start, size = i, 0
        size += width
    pieces.append(line[start:])
    return pieces


def check_size(what: str, text: str, limit: int) -> None:
    if utf8_len(text) > limit:
        raise ContentTooLarge(f"{what} is {utf8_len(text)} UTF-8 bytes; WeCom allows {limit}")


# -- recipients -----------------------------------------------------------------------------------

class Recipients(Model):
    """One call's recipients, already '|'-joined as message/send wants them."""

    touser: str = ""
    toparty: str = ""
    totag: str = ""

    def as_body(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v}


def batch_recipients(
    touser: Sequence[str] = (), toparty: Sequence[str | int] = (), totag: Sequence[str | int] = ()
) -> list[Recipients]:
    """Recipient batches within message/send limits: max(⌈U/1000⌉, ⌈P/100⌉, ⌈T/100⌉) calls.
    Duplicates are dropped (order kept); `@all` is one call on its own."""
    users = list(dict.fromkeys(u for u in touser if u))
    parties = list(dict.fromkeys(str(p) for p in toparty if str(p)))
    tags = list(dict.fromkeys(str(t) for t in totag if str(t)))
    if "@all" in users:
        return [Recipients(touser="@all")]
    if not (users or parties or tags):
        raise InvalidInput("no recipients: touser, toparty and totag are all empty")
    calls = max(math.ceil(len(users) / MAX_USERS), math.ceil(len(parties) / MAX_PARTIES),
                math.ceil(len(tags) / MAX_TAGS))
    return [
        Recipients(
            touser="|".join(users[i * MAX_USERS:(i + 1) * MAX_USERS]),
            toparty="|".join(parties[i * MAX_PARTIES:(i + 1) * MAX_PARTIES]),
            totag="|".join(tags[i * MAX_TAGS:(i + 1) * MAX_TAGS]),
        )
        for i in range(calls)
    ]


def batch_task_id(task_id: str, index: int) -> str:
    """Task id of batch `index`: a task_id may be used by one message only (42014), so batches after
    the first get a `@b<index>` suffix."""
    return task_id if index == 0 else f"{task_id}{_BATCH_SEP}{index}"


def base_task_id(task_id: str) -> str:
    """The task id a card was built with, from the one a click reports."""
    base, sep, index = task_id.rpartition(_BATCH_SEP)
    return base if sep and index.isdigit() else task_id


# -- results --------------------------------------------------------------------------------------

def _split_ids(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [v for v in str(value).split("|") if v]


class SendResult(Model):
    """Aggregate of the message/send calls for one logical send."""

    calls: int = 0
    msgids: list[str] = Field(default_factory=list)
    response_codes: list[str] = Field(default_factory=list)
    task_ids: list[str] = Field(default_factory=list)
    invaliduser: list[str] = Field(default_factory=list)
    invalidparty: list[str] = Field(default_factory=list)
    invalidtag: list[str] = Field(default_factory=list)
    unlicenseduser: list[str] = Field(default_factory=list)

    @property
    def response_code(self) -> str | None:
        return self.response_codes[0] if self.response_codes else None

    def add(self, data: Mapping[str, Any], task_id: str | None = None) -> None:
        self.calls += 1
        if data.get("msgid"):
            self.msgids.append(str(data["msgid"]))
        if data.get("response_code"):
            self.response_codes.append(str(data["response_code"]))
        if task_id:
            self.task_ids.append(task_id)
        for field in ("invaliduser", "invalidparty", "invalidtag", "unlicenseduser"):
            getattr(self, field).extend(_split_ids(data.get(field)))


class UpdateCardResult(Model):
    invaliduser: list[str] = Field(default_factory=list)


class ApprovalDetail(Model):
    """`oa/getapprovaldetail` → `info` (field names as WeCom spells them; unknown fields kept)."""

    model_config = ConfigDict(extra="allow")

    sp_no: str
    sp_name: str = ""
    sp_status: int
    template_id: str = ""
    apply_time: int = 0
    applyer: dict[str, Any] = Field(default_factory=dict)
    sp_record: list[dict[str, Any]] = Field(default_factory=list)
    notifyer: list[dict[str, Any]] = Field(default_factory=list)
    apply_data: dict[str, Any] = Field(default_factory=dict)
    comments: list[dict[str, Any]] = Field(default_factory=list)


class VacationQuota(Model):
    """One leave type of `oa/vacation/getuservacationquota`; durations in seconds."""

    model_config = ConfigDict(extra="allow")

    id: int
    vacationname: str = ""
    assignduration: int = 0
    usedduration: int = 0
    leftduration: int = 0
    real_assignduration: int = 0


class VacationConfig(Model):
    """One leave type of `oa/vacation/getcorpconf`. `time_attr` 0 按天 / 1 按小时; for an hourly type
    `perday_duration` is the seconds one day counts for (e.g. 28800 for 8 h)."""

    model_config = ConfigDict(extra="allow")

    id: int
    name: str = ""
    time_attr: int = 0
    duration_type: int = 0
    perday_duration: int = 0

    @property
    def seconds_per_day(self) -> int:
        """Seconds of quota that make one day of leave."""
        return self.perday_duration if self.time_attr == 1 and self.perday_duration > 0 else 86_400


# WeCom 汇报 (journal). Shapes [verified in SDKs]: get_record_list request {starttime, endtime, cursor,
# limit, filters[{key, value}]} and answer {journaluuid_list, next_cursor (int), endflag (0 more, 1 last;
# some SDKs type it bool)} [go-workwx generated docs, SKIT.FlurlHttpClient.Wechat.Work, developer doc
# 93393 as mirrored by QQ::weixin::work]; filter keys creator|department|template_id [wechat_sdk hexdocs];
# get_record_detail {journaluuid} → info {journal_uuid, template_id, template_name, report_time,
# submitter.userid, receivers, readed_receivers, apply_data, comments} [SKIT]. Assumed, not verified:
# apply_data follows the approval apply_data shape (SKIT reuses that type); WeCom caps a page at 100;
# "one month" is read as at most 28 days so that no calendar reading of it is exceeded.
JOURNAL_FILTER_KEYS = ("creator", "department", "template_id")
JOURNAL_PAGE_LIMIT = 100
JOURNAL_MAX_WINDOW = timedelta(days=28)


class JournalUser(Model):
    model_config = ConfigDict(extra="allow")

    userid: str = Field(min_length=1)


class JournalRecord(Model):
    """`oa/journal/get_record_detail` → `info` (field names as WeCom spells them; unknown fields kept)."""

    model_config = ConfigDict(extra="allow")

    journal_uuid: str = Field(min_length=1)
    template_id: str = ""
    template_name: str = ""
    report_time: int  # unix seconds of the submission
    submitter: JournalUser
    receivers: list[JournalUser] = Field(default_factory=list)
    readed_receivers: list[JournalUser] = Field(default_factory=list)
    apply_data: dict[str, Any] = Field(default_factory=dict)
    comments: list[dict[str, Any]] = Field(default_factory=list)


def journal_windows(start: datetime, end: datetime) -> Iterator[tuple[int, int]]:
    """[start, end] as unix-second windows of at most JOURNAL_MAX_WINDOW (neighbours share a bound)."""
    low, high = int(start.timestamp()), int(end.timestamp())
    step = int(JOURNAL_MAX_WINDOW.total_seconds())
    while True:
        top = min(low + step, high)
        yield low, top
        if top >= high:
            return
        low = top


# -- one HTTP exchange ------------------------------------------------------------------------

def encode_json(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def call_once(http: httpx.Client, method: str, url: str, api: str, *,
              params: Mapping[str, Any] | None = None, body: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One request → the decoded JSON on errcode 0, else the typed error. Never puts the URL (which
    carries credentials) or `str()` of a transport exception into a message."""
    content = encode_json(body) if body is not None else None
    headers = {"Content-Type": "application/json; charset=utf-8"} if content is not None else None
    try:
        resp = http.request(method, url, params=params, content=content, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
        raise _transport_error(api, ambiguous=False) from None
    except httpx.TransportError:
        raise _transport_error(api, ambiguous=True) from None
    if resp.status_code == 501:
        _raise_sandbox_not_implemented(resp, api)
    if resp.status_code >= 500:
        exc = WeComServerError(f"WeCom {api} answered HTTP {resp.status_code}", api=api)
        exc.ambiguous = True  # type: ignore[attr-defined]
        raise exc
    if resp.status_code != 200:
        raise WeComError(f"WeCom {api} answered HTTP {resp.status_code}", api=api)
    try:
        data = json.loads(resp.content)
    except ValueError:  # an intermediary's error page: the call may or may not have landed
        exc = WeComServerError(f"WeCom {api} answered with a body that is not JSON", api=api)
        exc.ambiguous = True  # type: ignore[attr-defined]
        raise exc from None
    if not isinstance(data, dict):
        raise WeComError(f"WeCom {api} answered with unexpected JSON", api=api)
    errcode = int(data.get("errcode", 0) or 0)
    if errcode != 0:
        raise error_for(errcode, str(data.get("errmsg", "")), api)
    return data


def _raise_sandbox_not_implemented(resp: httpx.Response, api: str) -> None:
    """HTTP 501 with the sandbox-only errcode → `SandboxNotImplemented` (not retried, not parked);
    any other 501 falls through to the 5xx handling."""
    try:
        data = json.loads(resp.content)
    except ValueError:
        return
    if isinstance(data, dict) and data.get("errcode") == SANDBOX_NOT_IMPLEMENTED:
        raise error_for(SANDBOX_NOT_IMPLEMENTED, str(data.get("errmsg", "")), api)


def _transport_error(api: str, *, ambiguous: bool) -> WeComTimeout:
    what = "timed out or lost the connection" if ambiguous else "could not be reached"
    exc = WeComTimeout(f"WeCom {api} {what}", api=api)
    exc.ambiguous = ambiguous  # type: ignore[attr-defined]
    return exc


class RetryPolicy:
    """Bounded exponential backoff with jitter: delay(n) ∈ [½, 1] × min(cap, base × 2ⁿ)."""

    def __init__(self, max_retries: int, sleep: Callable[[float], None], rng: random.Random | None = None):
        self.max_retries = max_retries
        self.sleep = sleep
        self.rng = rng or random.Random()

    def delay(self, attempt: int) -> float:
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** attempt))
        return ceiling * self.rng.uniform(0.5, 1.0)

    def run(self, once: Callable[[], dict[str, Any]], *, api: str, idempotent: bool) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                return once()
            except WeComRetryable as exc:
                if not self._may_retry(exc, attempt, idempotent):
                    raise
                logger.warning("wecom call retried", extra={"api": api, "errcode": exc.errcode,
                                                              "error_type": type(exc).__name__,
                                                              "attempt": attempt + 1})
                self.sleep(self.delay(attempt))
                attempt += 1

    def _may_retry(self, exc: WeComRetryable, attempt: int, idempotent: bool) -> bool:
        if attempt >= self.max_retries or not exc.retry_in_process:
            return False
        return idempotent or not getattr(exc, "ambiguous", False)


# -- the client -----------------------------------------------------------------------------------

class WeComClient:
    """Self-built app client for one (corp_id, agent_id, secret). Thread-safe; build one per container."""

    def __init__(
        self,
        api_base: str,
        corp_id: str,
        agent_id: int | str,
        secret: str,
        token_cache: TokenCache,
        http: httpx.Client | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        max_retries: int = 3,
        rng: random.Random | None = None,
    ) -> None:
        if not secret:
            raise InvalidInput("WeCom secret is empty")
        self.api_base = (api_base or DEFAULT_API_BASE).rstrip("/")
        self.corp_id = corp_id
        self.agent_id = int(agent_id)
        self._secret = secret
        self.token_cache = token_cache
        self._http = http
        self._clock = clock
        self._retry = RetryPolicy(max_retries, sleep or self._clock_sleep, rng)
        redactor.register(secret)
        install_log_scrubber()

    def __repr__(self) -> str:
        return f"WeComClient(corp_id={self.corp_id!r}, agent_id={self.agent_id})"

    @property
    def http(self) -> httpx.Client:
        return self._http or default_http_client()

    def _clock_sleep(self, seconds: float) -> None:
        (self._clock or get_clock()).sleep(seconds)

    # -- pipeline ---------------------------------------------------------------------------
    def _fetch_token(self) -> tuple[str, int]:
        data = self._retry.run(
            lambda: call_once(self.http, "GET", f"{self.api_base}/gettoken", "gettoken",
                              params={"corpid": self.corp_id, "corpsecret": self._secret}),
            api="gettoken", idempotent=True,
        )
        token = str(data.get("access_token") or "")
        if not token:
            raise WeComError("WeCom gettoken answered without an access_token", api="gettoken")
        return token, int(data.get("expires_in") or 7200)

    def _token(self) -> str:
        return self.token_cache.get(self.corp_id, str(self.agent_id), self._fetch_token)

    def _request(self, method: str, path: str, json: Mapping[str, Any] | None = None,
                 params: Mapping[str, Any] | None = None, *, idempotent: bool = True) -> dict[str, Any]:
        """Call `path` (relative to api_base, e.g. "message/send") with the app's token; returns the
        response JSON (errcode 0) or raises a typed error from `errors`."""
        api = path.strip("/")
        url = f"{self.api_base}/{api}"
        refreshed = False

        def once() -> dict[str, Any]:
            # At most two passes per _request: the second only after a token error on the first.
            nonlocal refreshed
            while True:
                token = self._token()
                try:
                    return call_once(self.http, method, url, api,
                                     params={**(params or {}), "access_token": token}, body=json)
                except WeComTokenInvalid:
                    # Forget the token either way, so that the next call starts from a fresh one.
                    self.token_cache.invalidate(self.corp_id, str(self.agent_id), token)
                    if refreshed:
                        raise
                    refreshed = True
                    logger.info("wecom token rejected; refreshing once", extra={"api": api})

        return self._retry.run(once, api=api, idempotent=idempotent)

    # -- app messages ------------------------------------------------------------------------
    def _send(self, msgtype: str, payload: Mapping[str, Any], touser: Sequence[str], toparty: Sequence[str | int],
              totag: Sequence[str | int], *, safe: bool, duplicate_check: bool, enable_id_trans: bool,
              result: SendResult | None = None) -> SendResult:
        result = result or SendResult()
        for i, recipients in enumerate(batch_recipients(touser, toparty, totag)):
            body: dict[str, Any] = {**recipients.as_body(), "msgtype": msgtype, "agentid": self.agent_id,
                                    msgtype: dict(payload)}
            task_id = None
            if msgtype == "template_card" and payload.get("task_id"):
                task_id = batch_task_id(str(payload["task_id"]), i)
                body[msgtype]["task_id"] = task_id
            if safe:
                body["safe"] = 1
            if enable_id_trans:
                body["enable_id_trans"] = 1
            if duplicate_check:
                body["enable_duplicate_check"] = 1
            data = self._request("POST", "message/send", json=body, idempotent=duplicate_check)
            result.add(data, task_id)
        return result

    def _send_split(self, msgtype: str, content: str, limit: int, touser: Sequence[str],
                    toparty: Sequence[str | int], totag: Sequence[str | int], **options: Any) -> SendResult:
        result = SendResult()
        for part in split_utf8(content, limit):
            self._send(msgtype, {"content": part}, touser, toparty, totag, result=result, **options)
        return result

    def send_text(self, content: str, *, touser: Sequence[str] = (), toparty: Sequence[str | int] = (),
                  totag: Sequence[str | int] = (), safe: bool = False, duplicate_check: bool = False,
                  enable_id_trans: bool = False) -> SendResult:
        """Text; content over 2048 UTF-8 bytes goes out as several messages split on line boundaries."""
        return self._send_split("text", content, TEXT_LIMIT, touser, toparty, totag, safe=safe,
                                duplicate_check=duplicate_check, enable_id_trans=enable_id_trans)

    def send_markdown(self, content: str, *, touser: Sequence[str] = (), toparty: Sequence[str | int] = (),
                      totag: Sequence[str | int] = (), duplicate_check: bool = False) -> SendResult:
        """Markdown (app messages: 2048 UTF-8 bytes per message; longer content is split by lines)."""
        return self._send_split("markdown", content, MARKDOWN_LIMIT, touser, toparty, totag, safe=False,
                                duplicate_check=duplicate_check, enable_id_trans=False)

    def send_textcard(self, title: str, description: str, url: str, *, btntxt: str | None = None,
                      touser: Sequence[str] = (), toparty: Sequence[str | int] = (),
                      totag: Sequence[str | int] = (), duplicate_check: bool = False) -> SendResult:
        """Text card; raises `ContentTooLarge` beyond title 128 / description 512 bytes (never truncates).
        Without `btntxt` the field is omitted and WeCom shows its own default button text."""
        check_size("textcard title", title, TEXTCARD_TITLE_LIMIT)
        check_size("textcard description", description, TEXTCARD_DESCRIPTION_LIMIT)
        if not url:
            raise InvalidInput("textcard url is required")
        payload = {"title": title, "description": description, "url": url}
        if btntxt is not None:
            payload["btntxt"] = btntxt
        return self._send("textcard", payload, touser, toparty, totag, safe=False,
                          duplicate_check=duplicate_check, enable_id_trans=False)

    def send_template_card(self, card: Mapping[str, Any], *, touser: Sequence[str] = (),
                           toparty: Sequence[str | int] = (), totag: Sequence[str | int] = (),
                           enable_id_trans: bool = False, duplicate_check: bool = False) -> SendResult:
        """Template card. Batches after the first get task ids `<task_id>@b<n>` (a task id is single-use
        per app); `SendResult.task_ids` lists them and `response_codes` holds one code per call."""
        task_id = card.get("task_id")
        if task_id is not None and not TASK_ID_RE.match(str(task_id)):
            raise InvalidInput("template_card.task_id must match [0-9A-Za-z_-@] and be at most 128 bytes")
        if card.get("card_type") != "text_notice" and card.get("card_type") != "news_notice" and not task_id:
            raise InvalidInput("interactive template cards need a task_id")
        return self._send("template_card", card, touser, toparty, totag, safe=False,
                          duplicate_check=duplicate_check, enable_id_trans=enable_id_trans)

    def update_template_card(self, response_code: str, *, userids: Sequence[str] = (),
                             partyids: Sequence[int] = (), tagids: Sequence[int] = (), atall: bool = False,
                             replace_name: str | None = None, card: Mapping[str, Any] | None = None,
                             enable_id_trans: bool = False) -> UpdateCardResult:
        """Update a sent card: either disable its button with `replace_name` or replace the whole card.

        Contract for callers: `response_code` (from message/send or from a click callback) is valid
        72 h and usable **once**; store it, consume it exactly once (conditional write) and never
        retry an update that may have succeeded with the same code. For the same reason recipients
        cannot be batched: more than 1000/100/100 is refused here.
        """
        if (replace_name is None) == (card is None):
            raise InvalidInput("update_template_card needs exactly one of replace_name or card")
        if len(userids) > MAX_USERS or len(partyids) > MAX_PARTIES or len(tagids) > MAX_TAGS:
            raise InvalidInput("update_template_card takes at most 1000 userids, 100 partyids, 100 tagids")
        body: dict[str, Any] = {"agentid": self.agent_id, "response_code": response_code}
        if userids:
            body["userids"] = list(userids)
        if partyids:
            body["partyids"] = list(partyids)
        if tagids:
            body["tagids"] = list(tagids)
        if atall:
            body["atall"] = 1
        if enable_id_trans:
            body["enable_id_trans"] = 1
        if replace_name is not None:
            body["button"] = {"replace_name": replace_name}
        else:
            body["template_card"] = dict(card or {})
        data = self._request("POST", "message/update_template_card", json=body, idempotent=False)
        return UpdateCardResult(invaliduser=_split_ids(data.get("invaliduser")))

    # -- app group chats ---------------------------------------------------------------------
    # -- upstream/downstream (上下游) ------------------------------------------------------------
    def shared_corps(self) -> list[dict[str, Any]]:
        """The downstream corps this app is shared with (`corpgroup/corp/list_app_share_info`,
        business_type 1): corpid, corp_name and the app's agentid in that corp."""
        corps: list[dict[str, Any]] = []
        cursor = ""
        while True:
            data = self._request("POST", "corpgroup/corp/list_app_share_info",
                                 json={"agentid": self.agent_id, "business_type": 1, "limit": 100, "cursor": cursor})
            corps.extend(data.get("corp_list") or [])
            cursor = str(data.get("next_cursor") or "")
            if int(data.get("ending", 1)) == 1 or not cursor:
                return corps

    def downstream(self, corp_id: str, agent_id: int | str) -> DownstreamClient:
        """A client acting in downstream corp `corp_id` as the shared app (its agentid there)."""
        return DownstreamClient(self, corp_id, agent_id)

    def appchat_create(self, name: str, owner: str, userlist: Sequence[str], chatid: str | None = None) -> str:
        """Create an app group chat; returns its chatid. Needs app visibility = root department (60011)."""
        members = list(dict.fromkeys(userlist))
        if not 2 <= len(members) <= 2000:
            raise InvalidInput("appchat userlist needs 2 to 2000 distinct members")
        if len(name) > 50:
            raise InvalidInput("appchat name is longer than 50 characters")
        if chatid is not None and not re.fullmatch(r"[0-9A-Za-z]{1,32}", chatid):
            raise InvalidInput("appchat chatid must be 1-32 characters [0-9A-Za-z]")
        body: dict[str, Any] = {"name": name, "owner": owner, "userlist": members}
        if chatid:
            body["chatid"] = chatid
        data = self._request("POST", "appchat/create", json=body, idempotent=chatid is not None)
        return str(data["chatid"])

    def appchat_send(self, chatid: str, msgtype: str, payload: Mapping[str, Any], *, safe: bool = False) -> None:
        body: dict[str, Any] = {"chatid": chatid, "msgtype": msgtype, msgtype: dict(payload)}
        if safe:
            body["safe"] = 1
        self._request("POST", "appchat/send", json=body, idempotent=False)

    def appchat_send_text(self, chatid: str, content: str) -> int:
        """Text to a chat, split over 2048 bytes; returns the number of messages sent."""
        parts = split_utf8(content, TEXT_LIMIT)
        for part in parts:
            self.appchat_send(chatid, "text", {"content": part})
        return len(parts)

    def appchat_send_markdown(self, chatid: str, content: str) -> int:
        parts = split_utf8(content, MARKDOWN_LIMIT)
        for part in parts:
            self.appchat_send(chatid, "markdown", {"content": part})
        return len(parts)

    # -- approvals ---------------------------------------------------------------------------
    def oa_get_approval_detail(self, sp_no: str) -> ApprovalDetail:
        data = self._request("POST", "oa/getapprovaldetail", json={"sp_no": str(sp_no)})
        return ApprovalDetail.model_validate(data.get("info") or {})

    def oa_apply_event(self, body: Mapping[str, Any] | BaseModel) -> str:
        """Submit an approval (oa/applyevent); returns the sp_no. Not retried on ambiguous failures."""
        payload = body.model_dump(exclude_none=True) if isinstance(body, BaseModel) else dict(body)
        data = self._request("POST", "oa/applyevent", json=payload, idempotent=False)
        return str(data["sp_no"])

    def oa_get_approval_info(self, start: datetime, end: datetime, *,
                             filters: Sequence[Mapping[str, str]] = (), size: int = 100) -> Iterator[str]:
        """sp_no of approvals created in [start, end], following `new_cursor` pagination."""
        if not 1 <= size <= 100:
            raise InvalidInput("size must be 1..100")
        cursor = ""
        while True:
            body: dict[str, Any] = {"starttime": int(start.timestamp()), "endtime": int(end.timestamp()),
                                    "new_cursor": cursor, "size": size}
            if filters:
                body["filters"] = [dict(f) for f in filters]
            data = self._request("POST", "oa/getapprovalinfo", json=body)
            yield from (str(n) for n in data.get("sp_no_list") or [])
            cursor = str(data.get("new_next_cursor") or "")
            if not cursor:
                return

    def oa_get_vacation_config(self) -> list[VacationConfig]:
        data = self._request("GET", "oa/vacation/getcorpconf")
        return [VacationConfig.model_validate(v) for v in data.get("lists") or []]

    def oa_get_user_vacation_quota(self, userid: str) -> list[VacationQuota]:
        data = self._request("POST", "oa/vacation/getuservacationquota", json={"userid": userid})
        return [VacationQuota.model_validate(q) for q in data.get("lists") or []]

    # -- journals (汇报) ----------------------------------------------------------------------
    def oa_journal_record_list(self, start: datetime, end: datetime, *,
                               filters: Sequence[Mapping[str, str]] | None = None,
                               limit: int = JOURNAL_PAGE_LIMIT) -> Iterator[str]:
        """journaluuid of journals reported in [start, end], each once: the span is split into
        windows WeCom accepts and every page is followed (cursor until endflag). Needs the app in
        汇报 → 可调用接口的应用, else ApiForbidden (48002). InvalidInput for a bad span, limit or filter."""
        if end < start:
            raise InvalidInput("journal list: end is before start")
        if not 1 <= limit <= JOURNAL_PAGE_LIMIT:
            raise InvalidInput(f"journal list: limit must be 1..{JOURNAL_PAGE_LIMIT}")
        bad = [f.get("key") for f in filters or () if f.get("key") not in JOURNAL_FILTER_KEYS]
        if bad:
            raise InvalidInput(f"journal list: unknown filter key {bad[0]!r}, expected one of {JOURNAL_FILTER_KEYS}")
        seen: set[str] = set()
        for low, high in journal_windows(start, end):
            for uuid in self._journal_pages(low, high, filters or (), limit):
                if uuid not in seen:
                    seen.add(uuid)
                    yield uuid

    def _journal_pages(self, low: int, high: int, filters: Sequence[Mapping[str, str]], limit: int) -> Iterator[str]:
        cursor = 0
        while True:
            body: dict[str, Any] = {"starttime": low, "endtime": high, "cursor": cursor, "limit": limit}
            if filters:
                body["filters"] = [{"key": f["key"], "value": str(f["value"])} for f in filters]
            data = self._request("POST", "oa/journal/get_record_list", json=body)
            yield from (str(u) for u in data.get("journaluuid_list") or [])
            next_cursor = int(data.get("next_cursor") or 0)
            if data.get("endflag") in (1, True, "1") or next_cursor == cursor:  # last page, or no progress
                return
            cursor = next_cursor

    def oa_journal_record_detail(self, journal_uuid: str) -> JournalRecord:
        """One journal; WeComError when WeCom's answer lacks the fields a journal must have."""
        api = "oa/journal/get_record_detail"
        data = self._request("POST", api, json={"journaluuid": str(journal_uuid)})
        try:
            return JournalRecord.model_validate(data.get("info") or {})
        except ValidationError as exc:
            fields = sorted({".".join(str(p) for p in e["loc"]) for e in exc.errors(include_input=False)})
            raise WeComError(f"{api} answered without {', '.join(fields)}", api=api) from None

    # -- directory ---------------------------------------------------------------------------
    def user_get(self, userid: str) -> User:
        return _user(self._request("GET", "user/get", params={"userid": userid}))

    def user_list(self, dept_id: int, *, fetch_child: bool = True) -> list[User]:
        """Members of a department (and its children) with details, in one call: the bulk
        alternative to one `user/get` per person when thousands are addressed."""
        data = self._request("GET", "user/list",
                             params={"department_id": int(dept_id), "fetch_child": int(fetch_child)})
        return [_user(u) for u in data.get("userlist") or []]

    def department_list(self, dept_id: int | None = None) -> list[Department]:
        """Departments under `dept_id` (all visible ones without it), with `department_leader`."""
        params = {"id": dept_id} if dept_id is not None else None
        data = self._request("GET", "department/list", params=params)
        return [_department(d) for d in data.get("department") or []]

    def auth_getuserinfo(self, code: str) -> str | None:
        """The member a web-login `code` stands for (OAuth2 网页授权 or QR login): their userid;
        None for a non-member (WeCom answers an openid instead). A code is single-use, so the call
        is never retried (a retry would only meet 40029)."""
        data = self._request("GET", "auth/getuserinfo", params={"code": code}, idempotent=False)
        return str(data["userid"]) if data.get("userid") else None

    def department_get(self, dept_id: int) -> Department:
        data = self._request("GET", "department/get", params={"id": dept_id})
        return _department(data.get("department") or {})

    def user_simplelist(self, dept_id: int, *, fetch_child: bool = False) -> list[str]:
        data = self._request("GET", "user/simplelist",
                             params={"department_id": dept_id, "fetch_child": int(fetch_child)})
        return [str(u["userid"]) for u in data.get("userlist") or []]

    def tag_list(self) -> list[Tag]:
        data = self._request("GET", "tag/list")
        return [Tag(tagid=int(t["tagid"]), tagname=str(t.get("tagname", ""))) for t in data.get("taglist") or []]

    def tag_get(self, tagid: int) -> Tag:
        """Tag members: users and departments (`partylist`)."""
        data = self._request("GET", "tag/get", params={"tagid": tagid})
        return Tag(
            tagid=int(tagid),
            tagname=str(data.get("tagname", "")),
            userids=[str(u["userid"]) for u in data.get("userlist") or []],
            partyids=[int(p) for p in data.get("partylist") or []],
        )


def _user(data: Mapping[str, Any]) -> User:
    return User(
        userid=str(data["userid"]),
        name=str(data.get("name") or data["userid"]),
        departments=[int(d) for d in data.get("department") or []],
        main_department=data.get("main_department"),
        direct_leader=list(data.get("direct_leader") or []),
        position=str(data.get("position") or ""),
        status=int(data.get("status") or 1),
    )


def _department(d: Mapping[str, Any]) -> Department:
    return Department(
        id=int(d["id"]),
        name=str(d.get("name") or d.get("name_en") or d["id"]),
        parentid=d.get("parentid") if d.get("parentid") not in (None, 0) else None,
        leaders=list(d.get("department_leader") or []),
    )


class DownstreamClient(WeComClient):
    """The shared app in a downstream corp: its token comes from `corpgroup/corp/gettoken` with the
    upstream app's token, then every call (message/send, cards) is the ordinary API in that corp."""

    def __init__(self, upstream: WeComClient, corp_id: str, agent_id: int | str) -> None:
        import secrets

        super().__init__(upstream.api_base, corp_id, agent_id, secrets.token_hex(16), upstream.token_cache,
                         http=upstream._http, clock=upstream._clock)
        self._upstream = upstream

    def __repr__(self) -> str:
        return f"DownstreamClient(corp_id={self.corp_id!r}, agent_id={self.agent_id}, upstream={self._upstream.corp_id!r})"

    def _fetch_token(self) -> tuple[str, int]:
        data = self._upstream._request("POST", "corpgroup/corp/gettoken",
                                       json={"corpid": self.corp_id, "agentid": self.agent_id, "business_type": 1})
        token = str(data.get("access_token") or "")
        if not token:
            raise WeComError("corpgroup/corp/gettoken answered without an access_token", api="corpgroup/corp/gettoken")
        return token, int(data.get("expires_in") or 7200)
