"""Names in request bodies are checked against the directory before anything is stored or sent:
an unknown or inactive member answers 400 naming every such userid (`require_members`); someone
acting on a record who is not a member answers 403 (`require_actor`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wecom_oa.errors import Forbidden, InvalidInput, NotFound


def _directory(directory: Any) -> Any:
    if directory is not None:
        return directory
    from wecom_oa.services import wiring

    return wiring.directory()


def _problem(directory: Any, userid: str, active: bool = True) -> str | None:
    try:
        user = directory.user(userid)
    except NotFound:
        return "unknown userid"
    return None if not active or getattr(user, "status", 1) == 1 else "inactive member"


def require_members(userids: Iterable[str], field: str, *, directory: Any = None, active: bool = True) -> None:
    """400 naming every userid of `field` that is not a member (with `active`: an active one)."""
    directory = _directory(directory)
    bad = [(u, p) for u in dict.fromkeys(userids) if (p := _problem(directory, u, active))]
    if bad:
        names = ", ".join(repr(u) for u, _ in bad)
        kind = "an active member" if active else "a member"
        raise InvalidInput(f"{field}: not {kind} of the directory: {names}",
                           details=[{"field": field, "problem": p, "value": u} for u, p in bad])


def require_member(userid: str, field: str, *, directory: Any = None) -> None:
    require_members([userid], field, directory=directory)


def require_actor(userid: str, field: str = "by", *, directory: Any = None) -> None:
    """403 when the person acting is not an active member (the action is refused, nothing changes)."""
    problem = _problem(_directory(directory), userid)
    if problem:
        raise Forbidden(f"{field}: {userid!r} may not act here ({problem})",
                        details={"field": field, "problem": problem, "value": userid})
