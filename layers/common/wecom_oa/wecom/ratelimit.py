"""Send ledger: WeCom's per app → member limits (30 messages/min, 1000/h), kept on our side.

WeCom drops excess app messages silently (no errcode, PROTOCOL §3.2), so callers reserve before
sending: `reserve(app, recipients, now)` counts the recipients that fit and returns them as
`allowed`, and for the others the earliest time they fit (`deferred`, `retry_at`). Callers send to
`allowed` now and delay the rest (e.g. a Step Functions Wait until `retry_at`).

Windows are the natural UTC minute and hour (fixed windows; WeCom does not document its window
shape, so limits are parameters and can be set below WeCom's). A reservation is counted even if the
send later fails: the ledger errs towards sending later, never towards being dropped.
Only explicit userids are counted; `@all`, parties and tags cannot be attributed to members.

Implementations: `MemorySendLedger` (tests, local mode) and `DynamoSendLedger` (one item per app,
member and UTC hour holding the hour count `h` and per-minute counts `m00`..`m59`; one conditional
ADD per recipient, TTL an hour after the window).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import Field

from wecom_oa.aws.dynamo import DynamoTable, Keys
from wecom_oa.errors import Conflict
from wecom_oa.validation import Model

PER_MINUTE = 30
PER_HOUR = 1000


class SendPlan(Model):
    allowed: list[str] = Field(default_factory=list)
    deferred: dict[str, datetime] = Field(default_factory=dict)

    @property
    def retry_at(self) -> datetime | None:
        """Earliest time at which some deferred recipient fits again (None when nothing is deferred)."""
        return min(self.deferred.values()) if self.deferred else None


class SendLedger(Protocol):
    def reserve(self, app: str, recipients: Sequence[str], now: datetime) -> SendPlan: ...


def _minute_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(second=0, microsecond=0)


def _hour_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _next_slot(now: datetime, minute_full: bool, hour_full: bool) -> datetime:
    if hour_full:
        return _hour_start(now) + timedelta(hours=1)
    if minute_full:
        return _minute_start(now) + timedelta(minutes=1)
    return now


def _unique(recipients: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(r for r in recipients if r and r != "@all"))


class MemorySendLedger:
    def __init__(self, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR) -> None:
        self.per_minute = per_minute
        self.per_hour = per_hour
        self._counts: dict[tuple[str, str, datetime], int] = {}
        self._lock = threading.Lock()

    def reserve(self, app: str, recipients: Sequence[str], now: datetime) -> SendPlan:
        minute, hour = _minute_start(now), _hour_start(now)
        plan = SendPlan()
        with self._lock:
            self._forget_before(hour)
            for user in _unique(recipients):
                m = self._counts.get((app, user, minute), 0)
                h = self._counts.get((app, user, hour), 0)
                if m < self.per_minute and h < self.per_hour:
                    self._counts[(app, user, minute)] = m + 1
                    self._counts[(app, user, hour)] = h + 1
                    plan.allowed.append(user)
                else:
                    plan.deferred[user] = _next_slot(now, m >= self.per_minute, h >= self.per_hour)
        return plan

    def _forget_before(self, hour: datetime) -> None:
        for key in [k for k in self._counts if k[2] < hour]:
            del self._counts[key]


def ledger_key(app: str, userid: str, hour: datetime) -> dict[str, str]:
    """Item key of one member's counters for one UTC hour (spelled in `Keys.send_ledger`)."""
    return Keys.send_ledger(app, userid, hour)


class DynamoSendLedger:
    """Counters on the application table; safe across concurrent containers (conditional ADD)."""

    def __init__(self, table: DynamoTable, per_minute: int = PER_MINUTE, per_hour: int = PER_HOUR) -> None:
        self.table = table
        self.per_minute = per_minute
        self.per_hour = per_hour

    # One conditional write per member; a broadcast to thousands runs them concurrently
    # (boto3 clients are thread-safe), so 6000 members take seconds, not a Lambda timeout.
    MAX_PARALLEL = 16

    def reserve(self, app: str, recipients: Sequence[str], now: datetime) -> SendPlan:
        plan = SendPlan()
        users = _unique(recipients)
        if len(users) > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=min(self.MAX_PARALLEL, len(users))) as pool:
                results = list(pool.map(lambda u: self._reserve_one(app, u, now), users))
        else:
            results = [self._reserve_one(app, u, now) for u in users]
        for user, when in zip(users, results, strict=True):
            if when is None:
                plan.allowed.append(user)
            else:
                plan.deferred[user] = when
        return plan

    def _reserve_one(self, app: str, user: str, now: datetime) -> datetime | None:
        """None when counted; else the earliest time this member fits again."""
        hour = _hour_start(now)
        minute_attr = f"m{now.astimezone(UTC).minute:02d}"
        key = ledger_key(app, user, hour)
        try:
            self.table.update(
                key,
                add_fields={"h": 1, minute_attr: 1},
                set_fields={"expires_at": int((hour + timedelta(hours=2)).timestamp())},
                condition=(
                    f"(attribute_not_exists(h) OR h < :hmax) AND "
                    f"(attribute_not_exists({minute_attr}) OR {minute_attr} < :mmax)"
                ),
                condition_values={":hmax": self.per_hour, ":mmax": self.per_minute},
                must_exist=False,
            )
        except Conflict:
            item = self.table.get(key) or {}
            return _next_slot(
                now,
                int(item.get(minute_attr, 0)) >= self.per_minute,
                int(item.get("h", 0)) >= self.per_hour,
            )
        return None
