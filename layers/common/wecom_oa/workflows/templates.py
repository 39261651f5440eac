"""Workflow templates (config/workflows/*.yaml): tasks with a role, a due offset in business time
and prerequisites (`after`), which must form a DAG.

`load_templates` validates every file and raises `ConfigurationError` naming the file and the
problem: a cycle (with its path), a task that waits for a missing one, an unknown role, a role
without exactly one way to resolve it, a welcome message to an unknown subject field. The server
refuses to start on such a file, and `make check` names it (cli/rules_check.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from wecom_oa.errors import ConfigurationError
from wecom_oa.validation import Model

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "config" / "workflows"
Key = str
_KEY = r"^[a-z][a-z0-9_]{0,39}$"
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_duration(text: str) -> timedelta:
    """`2h`, `1d4h`, `30m` (a business day `d` is 8 business hours)."""
    match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration (use e.g. 4h, 1d4h or 30m; 1d = 8 business hours)")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(hours=days * 8 + hours, minutes=minutes)


class SubjectField(Model):
    type: Literal["user", "text"] = "text"
    label: str = Field(min_length=1, max_length=40)


class Role(Model):
    """Exactly one of: fixed `users`, the `leader_of` a subject user, the `subject` user itself,
    or an `assignment` given when the workflow is started."""

    label: str = Field(min_length=1, max_length=40)
    users: list[str] | None = Field(None, min_length=1, max_length=20)
    leader_of: str | None = None
    subject: str | None = None
    assignment: str | None = Field(None, pattern=_KEY)

    @model_validator(mode="after")
    def _one_way(self) -> Role:
        ways = [w for w in ("users", "leader_of", "subject", "assignment") if getattr(self, w) is not None]
        if len(ways) != 1:
            raise ValueError(f"a role resolves in exactly one way (users, leader_of, subject or assignment); got {ways or 'none'}")
        return self


class TaskSpec(Model):
    key: Key = Field(pattern=_KEY)
    title: str = Field(min_length=1, max_length=100)
    role: Key
    due: timedelta
    after: list[Key] = Field(default_factory=list, max_length=50)

    @field_validator("due", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value) if isinstance(value, str) else value


class Welcome(Model):
    to: str
    template: str = Field(min_length=1, max_length=60)


class StartOn(Model):
    """Start the workflow when an approval of type `approval` is approved: subject and
    assignments from the form's fields, due dates counted from 09:00 on the form's `starts_on` date."""

    approval: str = Field(min_length=1, max_length=40)
    subject: dict[str, str] = Field(default_factory=dict)
    assignments: dict[str, str] = Field(default_factory=dict)
    starts_on: str | None = None


class WorkflowTemplate(Model):
    key: Key = Field(pattern=_KEY)
    name: str = Field(min_length=1, max_length=40)
    group: str = Field(min_length=1, max_length=64)
    owner_role: Key
    subject: dict[str, SubjectField] = Field(default_factory=dict)
    roles: dict[Key, Role]
    welcome: Welcome | None = None
    start_on: StartOn | None = None
    tasks: list[TaskSpec] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> WorkflowTemplate:
        keys = [t.key for t in self.tasks]
        if duplicates := sorted({k for k in keys if keys.count(k) > 1}):
            raise ValueError(f"task keys appear twice: {', '.join(duplicates)}")
        for task in self.tasks:
            if task.role not in self.roles:
                raise ValueError(f"task {task.key}: unknown role {task.role!r} (roles: {', '.join(self.roles)})")
            if missing := [a for a in task.after if a not in keys]:
                raise ValueError(f"task {task.key}: waits for missing task(s) {', '.join(missing)}")
            if task.key in task.after:
                raise ValueError(f"task {task.key}: waits for itself")
        if self.owner_role not in self.roles:
            raise ValueError(f"owner_role: unknown role {self.owner_role!r}")
        for name, role in self.roles.items():
            field = role.leader_of or role.subject
            if field is not None and (field not in self.subject or self.subject[field].type != "user"):
                raise ValueError(f"role {name}: {field!r} is not a user field of subject")
        if self.welcome and self.welcome.to not in self.subject:
            raise ValueError(f"welcome.to: {self.welcome.to!r} is not a subject field")
        if self.start_on:
            if unknown := sorted(set(self.start_on.subject) - set(self.subject)):
                raise ValueError(f"start_on.subject: {', '.join(unknown)} are not subject fields")
            if unknown := sorted(set(self.start_on.assignments) - set(self.assignments())):
                raise ValueError(f"start_on.assignments: {', '.join(unknown)} are not assignments of a role")
        if cycle := find_cycle({t.key: t.after for t in self.tasks}):
            raise ValueError(f"tasks wait for each other in a cycle: {' → '.join(cycle)}")
        return self

    def task(self, key: str) -> TaskSpec:
        return next(t for t in self.tasks if t.key == key)

    def successors(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {t.key: [] for t in self.tasks}
        for task in self.tasks:
            for before in task.after:
                out[before].append(task.key)
        return out

    def assignments(self) -> list[str]:
        return [r.assignment for r in self.roles.values() if r.assignment]


def find_cycle(after: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle of `after` edges as a path (`a → b → a`), or None: an iterative depth-first search."""
    state: dict[str, int] = {}  # 1 on the current path, 2 finished
    for root in after:
        if state.get(root):
            continue
        stack: list[tuple[str, Any]] = [(root, iter(after.get(root, ())))]
        path = [root]
        state[root] = 1
        while stack:
            node, edges = stack[-1]
            nxt = next(edges, None)  # type: ignore[call-overload]
            if nxt is None:
                state[node] = 2
                stack.pop()
                path.pop()
                continue
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append((nxt, iter(after.get(nxt, ()))))
    return None


def critical_path(template: WorkflowTemplate) -> list[str]:
    """The chain of tasks that ends last by due offset (each task's due is its latest finish): from a
    task without prerequisites to the last-due task, following the latest-due prerequisite."""
    last = max(template.tasks, key=lambda t: (t.due, t.key))
    chain = [last.key]
    current = last
    while current.after:
        current = max((template.task(k) for k in current.after), key=lambda t: (t.due, t.key))
        chain.append(current.key)
    return list(reversed(chain))


def parse_template(data: Any, source: str) -> WorkflowTemplate:
    try:
        return WorkflowTemplate.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ConfigurationError(f"{source}: {where}: {first['msg'].removeprefix('Value error, ')}",
                                 details={"file": source, "where": where}) from None


def load_templates(directory: Path = DEFAULT_DIR) -> dict[str, WorkflowTemplate]:
    """Every `*.yaml` under `directory`, by key. ConfigurationError names the file and the problem."""
    import yaml

    out: dict[str, WorkflowTemplate] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"{path.name}: cannot read ({type(exc).__name__})") from None
        template = parse_template(data, path.name)
        if template.key in out:
            raise ConfigurationError(f"{path.name}: key {template.key!r} is taken by another template")
        out[template.key] = template
    return out


@cache
def shipped() -> dict[str, WorkflowTemplate]:
    """The packaged templates, loaded once per container."""
    return load_templates()
