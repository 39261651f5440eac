"""Fault injection for the WeCom sandbox: WeCom as a flaky network and a throttling server would be.

A fault applies to calls of one API path (e.g. "message/send", optionally only one `msgtype`), for the
next `times` matching calls or for `seconds` of the sandbox clock, whichever is given (both: whichever
ends first). Kinds:

- `errcode`: WeCom answers HTTP 200 with that errcode (45009 throttled, -1 busy, 60020 IP not trusted...);
- `http_status`: an HTTP error page (502, 503) instead of JSON;
- `garbage`: HTTP 200 with a body that is not JSON;
- `reset`: the connection is dropped without an answer;
- `timeout`: no answer in time (in-process: the transport raises a read timeout; over HTTP the
  connection is dropped, which a client cannot tell from a lost answer either).

`after: true` applies the fault after the sandbox handled the call: the message was delivered but its
answer is lost. This is the ambiguous case that tests exactly-once delivery of re-attempts.
`errcode` faults always apply before (WeCom refused the call).

Served over HTTP by local/server.py as /_sandbox/faults (POST adds, GET lists with hit counts,
DELETE clears) and used in-process by tests through `WeComSandbox.faults`.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Kind = Literal["errcode", "http_status", "garbage", "reset", "timeout"]
GARBAGE = b"<html><body>502 Bad Gateway (nginx)</body></html>\x00\xff"


class FaultSpec(BaseModel):
    """What POST /_sandbox/faults accepts."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=100, description="API path under cgi-bin, e.g. message/send")
    msgtype: str | None = Field(default=None, max_length=40)
    kind: Kind | None = None
    errcode: int | None = Field(default=None, ge=-1, le=10**7)
    http_status: int | None = Field(default=None, ge=400, le=599)
    times: int | None = Field(default=None, ge=1, le=100000)
    seconds: float | None = Field(default=None, gt=0, le=7 * 24 * 3600)
    after: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> FaultSpec:
        if self.kind is None:
            self.kind = "errcode" if self.errcode is not None else "http_status" if self.http_status else None
        if self.kind is None:
            raise ValueError("give kind (errcode, http_status, garbage, reset, timeout) or errcode or http_status")
        if self.kind == "errcode" and self.errcode is None:
            raise ValueError("kind errcode needs errcode")
        if self.kind == "http_status" and self.http_status is None:
            raise ValueError("kind http_status needs http_status")
        if self.kind == "errcode" and self.after:
            raise ValueError("an errcode fault is WeCom refusing the call: it cannot apply after it")
        if self.times is None and self.seconds is None:
            raise ValueError("give times (the next N matching calls) or seconds (for how long)")
        self.path = self.path.strip("/")
        return self


class InjectedFault(Exception):  # noqa: N818 - it is not an error of the sandbox, it is the fault itself
    """Raised by `WeComSandbox.handle` for a transport-level fault; transports turn it into a reset,
    a timeout, an error page or garbage."""

    def __init__(self, kind: Kind, status: int = 200, body: bytes = b"") -> None:
        super().__init__(kind)
        self.kind, self.status, self.body = kind, status, body


@dataclass
class _Fault:
    id: int
    spec: FaultSpec
    until: datetime | None
    hits: int = 0

    def live(self, now: datetime) -> bool:
        return (self.spec.times is None or self.hits < self.spec.times) and (self.until is None or now < self.until)

    def view(self, now: datetime) -> dict[str, Any]:
        return {"id": self.id, **self.spec.model_dump(exclude_none=True), "hits": self.hits,
                "until": self.until.isoformat() if self.until else None, "active": self.live(now)}


@dataclass
class FaultPlan:
    clock: Any
    _faults: list[_Fault] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, spec: FaultSpec | dict[str, Any]) -> dict[str, Any]:
        spec = spec if isinstance(spec, FaultSpec) else FaultSpec.model_validate(spec)
        now = self.clock.now()
        until = now + timedelta(seconds=spec.seconds) if spec.seconds else None
        with self._lock:
            fault = _Fault(next(self._ids), spec, until)
            self._faults.append(fault)
            return fault.view(now)

    def list(self) -> list[dict[str, Any]]:
        now = self.clock.now()
        with self._lock:
            return [f.view(now) for f in self._faults]

    def clear(self) -> int:
        with self._lock:
            n, self._faults = len(self._faults), []
            return n

    def take(self, path: str, body: bytes, *, after: bool) -> FaultSpec | None:
        """The fault that applies to this call at this phase (counted as a hit), if any."""
        if not self._faults:
            return None
        now = self.clock.now()
        msgtype = _msgtype(body)
        with self._lock:
            for fault in self._faults:
                spec = fault.spec
                if spec.after == after and spec.path == path and fault.live(now) \
                        and (spec.msgtype is None or spec.msgtype == msgtype):
                    fault.hits += 1
                    return spec
        return None


def _msgtype(body: bytes) -> str | None:
    if not body or b"msgtype" not in body:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value.get("msgtype") if isinstance(value, dict) else None


def apply(spec: FaultSpec) -> dict[str, Any]:
    """The JSON answer of an errcode fault, or raises `InjectedFault` for the transport-level ones."""
    if spec.kind == "errcode":
        return {"errcode": spec.errcode, "errmsg": f"injected fault {spec.errcode} (sandbox /_sandbox/faults)"}
    if spec.kind == "http_status":
        raise InjectedFault("http_status", spec.http_status or 502, b"<html>bad gateway</html>")
    if spec.kind == "garbage":
        raise InjectedFault("garbage", 200, GARBAGE)
    raise InjectedFault(spec.kind or "reset")
