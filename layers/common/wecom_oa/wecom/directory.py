"""`WeComDirectory`: the `wecom_oa.directory.Directory` port on top of `WeComClient`, cached.

Entries are cached per container for `ttl_seconds` (default 10 min): approvals and escalations ask
for the same leaders many times. Unknown users, departments and tags raise the domain's `NotFound`,
as `StaticDirectory` does.

Coherence across containers: a contact change (change_contact callback) reaches one events worker,
which evicts what changed in its own cache (`forget_change`) and bumps the shared
`DirectoryVersion` (`DynamoDirectoryVersion.bump`). Every cache remembers the version it was filled
under and, when used, reads the shared version at most once per `version_check_seconds`; a
different version clears it. So a change is visible everywhere within that interval (plus the
callback's queue delay), for one GetItem per container per interval.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any, Literal, Protocol, TypeVar

from wecom_oa.aws.dynamo import DynamoTable, Keys
from wecom_oa.clock import Clock, get_clock
from wecom_oa.directory import Department, Tag, User
from wecom_oa.errors import NotFound, UpstreamError
from wecom_oa.observability import logger
from wecom_oa.wecom.client import WeComClient
from wecom_oa.wecom.errors import DepartmentNotFound, TagNotFound, UserNotFound

T = TypeVar("T")
CacheKey = tuple[Any, ...]

# How stale another container's cache may be after a contact change, in seconds. Short enough
# that a new head or a departed approver is seen before the next card goes out in practice; long
# enough that a busy container reads the version item ~4 times a minute, not on every lookup.
VERSION_CHECK_SECONDS = 15.0

# What a change of each scope can make stale (cache key kinds); users other than the changed
# ones stay cached. "user": a user's departments or leader flags changed, so department leaders,
# member lists and tag member lists may have; "party": a department itself; "tag": its members.
ChangeScope = Literal["user", "party", "tag"]
_STALE_KINDS: dict[str, frozenset[str]] = {
    "user": frozenset({"dept", "departments", "members", "tag"}),
    "party": frozenset({"dept", "departments", "members", "tag"}),
    "tag": frozenset({"tag", "tags"}),
}


class DirectoryVersion(Protocol):
    """The directory version every container shares: it grows with each contact change."""

    def current(self) -> int: ...


class DynamoDirectoryVersion:
    """`DirectoryVersion` as one item of the app table (`Keys.directory_version()`)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def current(self) -> int:
        """One strongly consistent GetItem; 0 before the first change. Raises UpstreamError."""
        item = self.table.get(Keys.directory_version())
        return int(item.get("version", 0)) if item else 0

    def bump(self) -> int:
        """Atomically add one and return the new version. A redelivered callback bumps twice:
        harmless (one more cache clear)."""
        item = self.table.update(Keys.directory_version(), add_fields={"version": 1}, must_exist=False)
        return int(item["version"])


class WeComDirectory:
    def __init__(
        self,
        client: WeComClient,
        *,
        clock: Clock | None = None,
        ttl_seconds: float = 600.0,
        version: DirectoryVersion | None = None,
        version_check_seconds: float = VERSION_CHECK_SECONDS,
    ) -> None:
        """Without `version` the cache is per container only (bounded by `ttl_seconds`)."""
        self.client = client
        self._clock = clock
        self.ttl_seconds = ttl_seconds
        self.version_check_seconds = version_check_seconds
        self._version_source = version
        self._version: int | None = None  # the shared version the cache was filled under
        self._checked_at: float | None = None
        # Bumped by every eviction: a load that started before one is not stored (it may be stale).
        self._generation = 0
        self._cache: dict[CacheKey, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return (self._clock or get_clock()).now().timestamp()

    def _cached(self, key: CacheKey, load: Callable[[], T]) -> T:
        now = self._now()
        self._sync_version(now)
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] > now:
                return hit[1]
            generation = self._generation
        value = load()
        self._store({key: value}, now, generation)
        return value

    def _store(self, entries: dict[CacheKey, Any], now: float, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._cache.update({k: (now + self.ttl_seconds, v) for k, v in entries.items()})

    def _sync_version(self, now: float) -> None:
        """Clear the cache if the shared version moved; reads it at most once per check interval.
        An unreadable version keeps the cache (still bounded by its TTL) until the next interval."""
        if self._version_source is None:
            return
        with self._lock:
            last = self._checked_at
            if last is not None and 0 <= now - last < self.version_check_seconds:
                return
            self._checked_at = now  # claimed: concurrent lookups do not read it too
        try:
            current = self._version_source.current()
        except UpstreamError as exc:
            logger.warning("directory version unreadable; serving the cache", extra={"error": type(exc).__name__})
            return
        with self._lock:
            if self._version is not None and current != self._version:
                self._clear()
            self._version = current

    def _clear(self) -> None:
        self._cache.clear()
        self._generation += 1

    def forget(self) -> None:
        """Drop every cached entry."""
        with self._lock:
            self._clear()

    def forget_change(self, scope: ChangeScope, userids: Collection[str] = ()) -> None:
        """Evict what a contact change of `scope` can make stale: `userids` and the kinds in
        `_STALE_KINDS` (the worker's own container, before it bumps the shared version)."""
        kinds = _STALE_KINDS[scope]
        users = {("user", u) for u in userids}
        with self._lock:
            for key in [k for k in self._cache if k[0] in kinds or k in users]:
                del self._cache[key]
            self._generation += 1

    def note_version(self, version: int) -> None:
        """Adopt `version`, returned by this container's own bump right after `forget_change`: that
        eviction covers the one change it counts. If the cache was filled under any other version
        than `version - 1`, it missed other changes and is cleared."""
        now = self._now()
        with self._lock:
            if self._version != version - 1:
                self._clear()
            self._version = version
            self._checked_at = now

    # Asked about more users than this at once, read the whole company with one `user/list`
    # instead of one `user/get` each (a 6000-person notice would spend most of the corp's
    # 10 000-calls-per-minute API budget otherwise).
    BULK_THRESHOLD = 50
    ROOT_DEPARTMENT = 1

    def preload(self, userids: Collection[str]) -> None:
        """Warm the cache for `userids`; users not in the company stay unknown (NotFound later)."""
        now = self._now()
        self._sync_version(now)
        with self._lock:
            missing = [u for u in userids if not ((hit := self._cache.get(("user", u))) and hit[0] > now)]
            generation = self._generation
        if len(missing) <= self.BULK_THRESHOLD:
            return
        users = self.client.user_list(self.ROOT_DEPARTMENT, fetch_child=True)
        self._store({("user", user.userid): user for user in users}, now, generation)

    def preload_departments(self) -> None:
        """Warm the cache with every department in one `department/list` call (6000 stores would
        otherwise cost 6000 `department/get`)."""
        now = self._now()
        self._sync_version(now)
        with self._lock:
            generation = self._generation
        departments = self.client.department_list()
        self._store({("dept", d.id): d for d in departments}, now, generation)

    def departments(self) -> list[Department]:
        """Every department the app can see (one cached `department/list`): the console's data
        scopes look up the departments a person leads."""
        departments = self._cached(("departments",), self.client.department_list)
        now = self._now()
        with self._lock:
            generation = self._generation
        self._store({("dept", d.id): d for d in departments}, now, generation)
        return list(departments)

    def user(self, userid: str) -> User:
        try:
            return self._cached(("user", userid), lambda: self.client.user_get(userid))
        except UserNotFound:
            raise NotFound(f"unknown user {userid!r}") from None

    def department(self, dept_id: int) -> Department:
        try:
            return self._cached(("dept", int(dept_id)), lambda: self.client.department_get(int(dept_id)))
        except DepartmentNotFound:
            raise NotFound(f"unknown department {dept_id}") from None

    def department_members(self, dept_id: int, *, recursive: bool = True) -> list[str]:
        try:
            return list(self._cached(
                ("members", int(dept_id), recursive),
                lambda: self.client.user_simplelist(int(dept_id), fetch_child=recursive),
            ))
        except DepartmentNotFound:
            raise NotFound(f"unknown department {dept_id}") from None

    def tag(self, tag: str | int) -> Tag:
        tagid = self._tag_id(tag)
        try:
            return self._cached(("tag", tagid), lambda: self.client.tag_get(tagid))
        except TagNotFound:
            raise NotFound(f"unknown tag {tag!r}") from None

    def tag_members(self, tag: str | int) -> list[str]:
        """Users of the tag plus the members of its departments (recursive), without duplicates."""
        t = self.tag(tag)
        members = list(t.userids)
        for party in t.partyids:
            members.extend(self.department_members(party))
        return list(dict.fromkeys(members))

    def _tag_id(self, tag: str | int) -> int:
        if isinstance(tag, int) or str(tag).isdigit():
            return int(tag)
        tags = self._cached(("tags",), self.client.tag_list)
        for t in tags:
            if t.tagname == tag:
                return t.tagid
        raise NotFound(f"unknown tag {tag!r}")
