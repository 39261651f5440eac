"""The directory port: who is who (users, departments with leaders, tags).

Approvals resolve "department head", "N-th level leader" and roles (WeCom tags such as 财务, 总经理)
through it; tickets resolve the handler's supervisor / regional director; notices expand parties
and tags. Implementations: `StaticDirectory` (YAML: config, tests, the sandbox's demo company) and
`wecom_oa.wecom.directory.WeComDirectory` (WeCom API with a cache).

Leaders: a user's level-1 leader is their `direct_leader` if set, else the leader of their main
department (not themselves); level N+1 is the level-1 leader of level N.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field

from wecom_oa.errors import NotFound
from wecom_oa.validation import Model


class User(Model):
    userid: str
    name: str
    departments: list[int] = Field(default_factory=list)
    main_department: int | None = None
    direct_leader: list[str] = Field(default_factory=list)
    position: str = ""
    status: int = 1  # 1 active, 2 disabled, 4 not activated, 5 exited
    region: str | None = None

    @property
    def department(self) -> int | None:
        return self.main_department if self.main_department is not None else (
            self.departments[0] if self.departments else None
        )


class Department(Model):
    id: int
    name: str
    parentid: int | None = None
    leaders: list[str] = Field(default_factory=list)


class Tag(Model):
    tagid: int
    tagname: str
    userids: list[str] = Field(default_factory=list)
    partyids: list[int] = Field(default_factory=list)


class Directory(Protocol):
    def user(self, userid: str) -> User: ...
    def department(self, dept_id: int) -> Department: ...
    def tag_members(self, tag: str | int) -> list[str]: ...
    def department_members(self, dept_id: int, *, recursive: bool = True) -> list[str]: ...


def leader(directory: Directory, userid: str, level: int = 1) -> str | None:
    """The user's level-N leader, or None when the chain ends (nobody above)."""
    if level < 1:
        raise ValueError("level starts at 1")
    current = userid
    for _ in range(level):
        nxt = _level_one(directory, current)
        if nxt is None:
            return None
        current = nxt
    return current


def department_head(directory: Directory, userid: str) -> str | None:
    """Head of the user's main department; for the head themselves, the parent department's head."""
    user = directory.user(userid)
    dept_id = user.department
    while dept_id is not None:
        dept = directory.department(dept_id)
        heads = [h for h in dept.leaders if h != userid]
        if heads:
            return heads[0]
        dept_id = dept.parentid
    return None


def _level_one(directory: Directory, userid: str) -> str | None:
    user = directory.user(userid)
    leaders = [u for u in user.direct_leader if u != userid]
    if leaders:
        return leaders[0]
    return department_head(directory, userid)


class StaticDirectory:
    """A directory held in memory, loaded from YAML/dicts (`users`, `departments`, `tags`)."""

    def __init__(self, users: Iterable[User], departments: Iterable[Department], tags: Iterable[Tag] = ()):
        self._users = {u.userid: u for u in users}
        self._departments = {d.id: d for d in departments}
        self._tags = list(tags)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> StaticDirectory:
        return cls(
            [User.model_validate(u) for u in data.get("users", [])],
            [Department.model_validate(d) for d in data.get("departments", [])],
            [Tag.model_validate(t) for t in data.get("tags", [])],
        )

    @classmethod
    def from_yaml(cls, path: Path) -> StaticDirectory:
        import yaml

        return cls.from_mapping(yaml.safe_load(path.read_text(encoding="utf-8")) or {})

    def user(self, userid: str) -> User:
        try:
            return self._users[userid]
        except KeyError:
            raise NotFound(f"unknown user {userid!r}") from None

    def has_user(self, userid: str) -> bool:
        return userid in self._users

    def users(self) -> list[User]:
        return list(self._users.values())

    def departments(self) -> list[Department]:
        return list(self._departments.values())

    def tags(self) -> list[Tag]:
        return list(self._tags)

    def department(self, dept_id: int) -> Department:
        try:
            return self._departments[dept_id]
        except KeyError:
            raise NotFound(f"unknown department {dept_id}") from None

    def tag(self, tag: str | int) -> Tag:
        for t in self._tags:
            if t.tagid == tag or t.tagname == tag or str(t.tagid) == str(tag):
                return t
        raise NotFound(f"unknown tag {tag!r}")

    def tag_members(self, tag: str | int) -> list[str]:
        t = self.tag(tag)
        members = list(t.userids)
        for party in t.partyids:
            members.extend(m for m in self.department_members(party) if m not in members)
        return members

    def department_members(self, dept_id: int, *, recursive: bool = True) -> list[str]:
        self.department(dept_id)
        ids = {dept_id}
        if recursive:
            changed = True
            while changed:
                changed = False
                for d in self._departments.values():
                    if d.parentid in ids and d.id not in ids:
                        ids.add(d.id)
                        changed = True
        return [u.userid for u in self._users.values() if ids.intersection(u.departments)]
