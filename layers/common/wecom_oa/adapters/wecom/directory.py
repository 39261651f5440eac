"""`WeComDirectory`: the `wecom_oa.domain.directory.Directory` port on top of `WeComClient`, cached.

Entries are cached per container for `ttl_seconds` (default 10 min): approvals and escalations ask
for the same leaders many times, and contact changes arriving by callback can call `forget()`.
Unknown users, departments and tags raise the domain's `NotFound`, as `StaticDirectory` does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection
from typing import Any, TypeVar

from wecom_oa.adapters.wecom.client import WeComClient
from wecom_oa.adapters.wecom.errors import DepartmentNotFound, TagNotFound, UserNotFound
from wecom_oa.clock import Clock, get_clock
from wecom_oa.domain.directory import Department, Tag, User
from wecom_oa.errors import NotFound

T = TypeVar("T")


class WeComDirectory:
    def __init__(self, client: WeComClient, *, clock: Clock | None = None, ttl_seconds: float = 600.0) -> None:
        self.client = client
        self._clock = clock
        self.ttl_seconds = ttl_seconds
        self._cache: dict[tuple[str, Any], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def _now(self) -> float:
        return (self._clock or get_clock()).now().timestamp()

    def _cached(self, key: tuple[str, Any], load: Callable[[], T]) -> T:
        now = self._now()
        with self._lock:
            hit = self._cache.get(key)
            if hit and hit[0] > now:
                return hit[1]
        value = load()
        with self._lock:
            self._cache[key] = (now + self.ttl_seconds, value)
        return value

    def forget(self) -> None:
        """Drop every cached entry (after a change_contact callback)."""
        with self._lock:
            self._cache.clear()

    # Asked about more users than this at once, read the whole company with one `user/list`
    # instead of one `user/get` each (a 6000-person notice would spend most of the corp's
    # 10 000-calls-per-minute API budget otherwise).
    BULK_THRESHOLD = 50
    ROOT_DEPARTMENT = 1

    def preload(self, userids: Collection[str]) -> None:
        """Warm the cache for `userids`; users not in the company stay unknown (NotFound later)."""
        now = self._now()
        with self._lock:
            missing = [u for u in userids if not ((hit := self._cache.get(("user", u))) and hit[0] > now)]
        if len(missing) <= self.BULK_THRESHOLD:
            return
        users = self.client.user_list(self.ROOT_DEPARTMENT, fetch_child=True)
        with self._lock:
            for user in users:
                self._cache[("user", user.userid)] = (now + self.ttl_seconds, user)

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
