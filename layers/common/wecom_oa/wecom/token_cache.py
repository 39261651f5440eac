"""access_token cache: one `gettoken` per app per token lifetime across every container.

`TokenCache` keeps an in-memory copy per container, keyed by (corp_id, agent_id) — never by corp
alone, so two apps never share a token (PROTOCOL §6.12). Behind it a `TokenStore` shared by all
containers (`DynamoTokenStore`; `MemoryTokenStore` for tests and local mode) holds the token, its
expiry and a refresh lease.

Refresh protocol (single flight, PROTOCOL §3.1 / §6.13):
- a token is "fresh" until `refresh_ahead` seconds (default 300) before it expires;
- a container that finds it stale takes the lease with a conditional write (owner + lease expiry);
  only the lease holder calls `gettoken`, publishes the token and drops the lease;
- the others keep using the old token while it is still valid, else poll the store with small
  sleeps until the new one appears; a lease whose holder died expires and can be taken over;
- `invalidate(token)` (after 40014/42001/41001) marks exactly that token expired, conditionally, so
  a container reporting an already-replaced token does not force another refresh.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from wecom_oa.aws.dynamo import DynamoTable, Keys
from wecom_oa.clock import Clock, get_clock
from wecom_oa.errors import Conflict, UpstreamThrottled
from wecom_oa.observability import logger, redactor

# Stored items outlive their token by a day (TTL), so an expired record never vanishes mid-lease.
_TTL_MARGIN = 86400


@dataclass(frozen=True)
class TokenRecord:
    token: str | None
    expires_at: float  # epoch seconds; 0 when invalidated or absent
    lease_owner: str | None = None
    lease_until: float = 0.0


class TokenStore(Protocol):
    def read(self, corp_id: str, agent_id: str) -> TokenRecord | None: ...

    def try_acquire_lease(self, corp_id: str, agent_id: str, owner: str, until: float, now: float,
                          stale_before: float) -> bool:
        """Take the refresh lease if it is free, expired or already ours AND the stored token is
        missing or expires before `stale_before` — so a worker that read the store just before
        another one published cannot start a second refresh."""
        ...

    def publish(self, corp_id: str, agent_id: str, token: str, expires_at: float, owner: str) -> None:
        """Store a fresh token and release the lease."""
        ...

    def release(self, corp_id: str, agent_id: str, owner: str) -> None: ...

    def invalidate(self, corp_id: str, agent_id: str, token: str) -> None:
        """Mark `token` expired if it is still the stored one."""
        ...


class MemoryTokenStore:
    """Process-local store with the same semantics as the DynamoDB one (tests, local mode)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, str], TokenRecord] = {}
        self._lock = threading.Lock()

    def read(self, corp_id: str, agent_id: str) -> TokenRecord | None:
        with self._lock:
            return self._items.get((corp_id, agent_id))

    def try_acquire_lease(self, corp_id: str, agent_id: str, owner: str, until: float, now: float,
                          stale_before: float) -> bool:
        with self._lock:
            rec = self._items.get((corp_id, agent_id)) or TokenRecord(None, 0.0)
            if rec.lease_owner and rec.lease_owner != owner and rec.lease_until >= now:
                return False
            if rec.token and rec.expires_at >= stale_before:
                return False
            self._items[(corp_id, agent_id)] = TokenRecord(rec.token, rec.expires_at, owner, until)
            return True

    def publish(self, corp_id: str, agent_id: str, token: str, expires_at: float, owner: str) -> None:
        with self._lock:
            self._items[(corp_id, agent_id)] = TokenRecord(token, expires_at)

    def release(self, corp_id: str, agent_id: str, owner: str) -> None:
        with self._lock:
            rec = self._items.get((corp_id, agent_id))
            if rec and rec.lease_owner == owner:
                self._items[(corp_id, agent_id)] = TokenRecord(rec.token, rec.expires_at)

    def invalidate(self, corp_id: str, agent_id: str, token: str) -> None:
        with self._lock:
            rec = self._items.get((corp_id, agent_id))
            if rec and rec.token == token:
                self._items[(corp_id, agent_id)] = TokenRecord(rec.token, 0.0, rec.lease_owner, rec.lease_until)


class DynamoTokenStore:
    """The shared store on the application table, item `Keys.token(corp, agent)`.

    Attributes: `access_token`, `token_expires_at` (epoch s), `lease_owner`, `lease_until` (epoch s)
    and `expires_at` = token expiry + 1 day (the table's TTL attribute).
    """

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def read(self, corp_id: str, agent_id: str) -> TokenRecord | None:
        item = self.table.get(Keys.token(corp_id, agent_id), consistent=True)
        if item is None:
            return None
        return TokenRecord(
            token=item.get("access_token"),
            expires_at=float(item.get("token_expires_at", 0)),
            lease_owner=item.get("lease_owner"),
            lease_until=float(item.get("lease_until", 0)),
        )

    def try_acquire_lease(self, corp_id: str, agent_id: str, owner: str, until: float, now: float,
                          stale_before: float) -> bool:
        try:
            self.table.update(
                Keys.token(corp_id, agent_id),
                set_fields={"lease_owner": owner, "lease_until": until},
                condition=(
                    "(attribute_not_exists(lease_until) OR lease_until < :now OR lease_owner = :me) AND "
                    "(attribute_not_exists(token_expires_at) OR token_expires_at < :stale)"
                ),
                condition_values={":now": now, ":me": owner, ":stale": stale_before},
                must_exist=False,
            )
        except Conflict:
            return False
        return True

    def publish(self, corp_id: str, agent_id: str, token: str, expires_at: float, owner: str) -> None:
        self.table.update(
            Keys.token(corp_id, agent_id),
            set_fields={
                "access_token": token,
                "token_expires_at": expires_at,
                "expires_at": int(expires_at) + _TTL_MARGIN,
            },
            remove_fields=("lease_owner", "lease_until"),
            must_exist=False,
        )

    def release(self, corp_id: str, agent_id: str, owner: str) -> None:
        with contextlib.suppress(Conflict):
            self.table.update(
                Keys.token(corp_id, agent_id),
                remove_fields=("lease_owner", "lease_until"),
                condition="lease_owner = :me",
                condition_values={":me": owner},
            )

    def invalidate(self, corp_id: str, agent_id: str, token: str) -> None:
        with contextlib.suppress(Conflict):
            self.table.update(
                Keys.token(corp_id, agent_id),
                set_fields={"token_expires_at": 0},
                condition="access_token = :bad",
                condition_values={":bad": token},
            )


Fetch = Callable[[], tuple[str, int]]
"""Calls gettoken; returns (access_token, expires_in seconds)."""


class TokenCache:
    """Per-container token cache in front of a shared `TokenStore`. Thread-safe.

    `get` raises whatever `fetch` raises (typed WeCom errors), or `UpstreamThrottled` when another
    container holds the lease and no token appears within `wait_timeout` seconds.
    """

    def __init__(
        self,
        store: TokenStore,
        *,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        refresh_ahead: float = 300.0,
        lease_seconds: float = 15.0,
        poll_interval: float = 0.1,
        wait_timeout: float = 20.0,
        owner: str | None = None,
    ) -> None:
        self.store = store
        self._clock = clock
        self._sleep = sleep
        self.refresh_ahead = refresh_ahead
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout
        self.owner = owner or uuid.uuid4().hex
        self._memory: dict[tuple[str, str], TokenRecord] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def clock(self) -> Clock:
        return self._clock or get_clock()

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def _pause(self, seconds: float) -> None:
        (self._sleep or self.clock.sleep)(seconds)

    def _lock_for(self, key: tuple[str, str]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _fresh(self, rec: TokenRecord | None, now: float) -> bool:
        return bool(rec and rec.token and now < rec.expires_at - self.refresh_ahead)

    def get(self, corp_id: str, agent_id: str, fetch: Fetch) -> str:
        key = (corp_id, str(agent_id))
        rec = self._memory.get(key)
        if self._fresh(rec, self._now()):
            return rec.token  # type: ignore[union-attr,return-value]
        with self._lock_for(key):
            rec = self._memory.get(key)
            if self._fresh(rec, self._now()):
                return rec.token  # type: ignore[union-attr,return-value]
            return self._from_store(key, fetch)

    def _from_store(self, key: tuple[str, str], fetch: Fetch) -> str:
        deadline = self._now() + self.wait_timeout
        while True:
            now = self._now()
            rec = self.store.read(*key)
            if self._fresh(rec, now):
                return self._remember(key, rec)  # type: ignore[arg-type]
            if self.store.try_acquire_lease(*key, self.owner, now + self.lease_seconds, now,
                                            now + self.refresh_ahead):
                return self._refresh(key, fetch)
            if rec and rec.token and now < rec.expires_at:
                # Another container is refreshing ahead of expiry; the current token still works.
                return rec.token
            if now >= deadline:
                raise UpstreamThrottled("timed out waiting for another worker to refresh the WeCom token")
            self._pause(self.poll_interval)

    def _refresh(self, key: tuple[str, str], fetch: Fetch) -> str:
        try:
            token, expires_in = fetch()
        except BaseException:
            self.store.release(*key, self.owner)
            raise
        redactor.register(token)
        expires_at = self._now() + expires_in
        self.store.publish(*key, token, expires_at, self.owner)
        logger.info("wecom token refreshed", extra={"corp_id": key[0], "agent_id": key[1]})
        return self._remember(key, TokenRecord(token, expires_at))

    def _remember(self, key: tuple[str, str], rec: TokenRecord) -> str:
        redactor.register(rec.token)
        self._memory[key] = TokenRecord(rec.token, rec.expires_at)
        return rec.token  # type: ignore[return-value]

    def invalidate(self, corp_id: str, agent_id: str, token: str) -> None:
        """Forget `token` here and in the store (only if it is still the current one)."""
        key = (corp_id, str(agent_id))
        with self._lock_for(key):
            rec = self._memory.get(key)
            if rec and rec.token == token:
                del self._memory[key]
        self.store.invalidate(*key, token)
