"""Who sees what in the console (data scopes), decided from the directory and config/console.yaml.

- an **admin** (a userid or a tag member listed under `admins`) sees everything;
- a **department head** (a leader of a department in WeCom) sees the items of every member of the
  departments they lead, sub-departments included, and their own;
- everybody else sees their own items: those where they are the reporter, assignee, CC, applicant,
  approver, sender or owner.

Pages ask `Scope.sees(people)` with the people an item involves; an item the scope does not see
answers 404 exactly like an item that does not exist (an id guessed in the address reveals nothing).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from wecom_oa import wiring
from wecom_oa.errors import ConfigurationError, NotFound
from wecom_oa.settings import get_settings
from wecom_oa.validation import Model

Kind = Literal["admin", "head", "employee"]


class Admins(Model):
    users: list[str] = Field(default_factory=list)
    tags: list[str | int] = Field(default_factory=list)


class ConsoleConfig(Model):
    admins: Admins = Field(default_factory=Admins)
    session_hours: float = Field(8, gt=0, le=24 * 7)
    page_size: int = Field(50, ge=5, le=500)


def load_console_config(path: Path) -> ConsoleConfig:
    import yaml
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return ConsoleConfig.model_validate(data)
    except FileNotFoundError:
        return ConsoleConfig()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ConfigurationError(f"{path.name}: {where}: {first['msg']}", details={"file": path.name, "where": where}) from None


@lru_cache(maxsize=1)
def _config(path: Path) -> ConsoleConfig:
    return load_console_config(path)


def console_config() -> ConsoleConfig:
    return _config(get_settings().config_dir / "console.yaml")


@dataclass(frozen=True)
class Scope:
    userid: str
    kind: Kind
    members: frozenset[str] = frozenset()  # a head's departments' members (them included)
    departments: tuple[int, ...] = ()      # the departments a head leads

    def sees(self, people: Iterable[str | None]) -> bool:
        if self.kind == "admin":
            return True
        wanted = {self.userid} | self.members
        return any(p in wanted for p in people if p)

    def require(self, people: Iterable[str | None], what: str) -> None:
        """NotFound (404) when the scope does not see the item: the same answer as a missing one."""
        if not self.sees(people):
            raise NotFound(f"{what} not found")

    @property
    def label(self) -> str:
        from wecom_oa.console.pages import texts

        return texts().text(f"scopes.{self.kind}")


def is_admin(userid: str, config: ConsoleConfig | None = None) -> bool:
    config = config or console_config()
    if userid in config.admins.users:
        return True
    directory = wiring.directory()
    for tag in config.admins.tags:
        try:
            if userid in directory.tag_members(tag):
                return True
        except NotFound:
            continue
    return False


def scope_for(userid: str) -> Scope:
    """The scope of `userid`; every member's own items at least."""
    if is_admin(userid):
        return Scope(userid, "admin")
    directory = wiring.directory()
    listing = getattr(directory, "departments", None)
    led = [d.id for d in (listing() if listing else []) if userid in d.leaders]
    if not led:
        return Scope(userid, "employee")
    members: set[str] = set()
    for dept in led:
        members.update(directory.department_members(dept, recursive=True))
    return Scope(userid, "head", frozenset(members), tuple(led))
