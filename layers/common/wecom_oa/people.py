"""Names in request bodies are checked against the directory before anything is stored or sent:
an unknown or inactive member answers 400 naming every such userid (`require_members`); someone
acting on a record who is not a member answers 403 (`require_actor`).

Cost: a list of more than `ROSTER_AFTER` userids is checked against the company roster (one
`user/simplelist` of the root department, cached by the directory like any other lookup), so an
unknown userid costs no WeCom call of its own, however many a request names and however often it
is sent again; the known ones are read through the directory's bulk `preload`. A list longer than
`MAX_USERIDS` (`services.api`) is refused before any lookup."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from wecom_oa.errors import Forbidden, InputLimitExceeded, InvalidInput, NotFound, OAError
from wecom_oa.observability import logger

ROSTER_AFTER = 3  # up to this many distinct userids are looked up one by one (cheaper than the roster)
ROOT_DEPARTMENT = 1
NAMED_IN_MESSAGE = 20  # a message names this many userids; `details` lists them all


def _directory(directory: Any) -> Any:
    if directory is not None:
        return directory
    from wecom_oa import wiring

    return wiring.directory()


def _problem(directory: Any, userid: str, active: bool = True) -> str | None:
    try:
        user = directory.user(userid)
    except NotFound:
        return "unknown userid"
    return None if not active or getattr(user, "status", 1) == 1 else "inactive member"


def _roster(directory: Any) -> frozenset[str] | None:
    """Every userid of the company (one cached call), or None when the app cannot list the root
    department (a narrower visible range): then userids are looked up one by one."""
    try:
        return frozenset(directory.department_members(ROOT_DEPARTMENT))
    except OAError as exc:
        logger.warning("company roster unavailable; checking userids one by one", extra={"error": type(exc).__name__})
        return None


def check_count(userids: Sequence[Any], field: str, limit: int | None = None) -> None:
    """InputLimitExceeded when `field` names more than `limit` (default MAX_USERIDS) recipients."""
    from wecom_oa.api import MAX_USERIDS

    limit = MAX_USERIDS if limit is None else limit
    if len(userids) > limit:
        raise InputLimitExceeded(f"{field}: {len(userids)} entries; the limit is {limit} per request (max_userids)",
                                 details={"limit": "max_userids", "max": limit, "where": field})


def problems(userids: Iterable[str], *, directory: Any = None, active: bool = True) -> list[tuple[str, str]]:
    """`(userid, problem)` for each distinct userid that is not a member (with `active`: an
    active one), in order. Unknown ones are found from the roster, without a call each."""
    directory = _directory(directory)
    distinct = list(dict.fromkeys(userids))
    roster = _roster(directory) if len(distinct) > ROSTER_AFTER else None
    if roster is None:
        return [(u, p) for u in distinct if (p := _problem(directory, u, active))]
    known = [u for u in distinct if u in roster]
    outside = [u for u in distinct if u not in roster]
    if len(outside) <= ROSTER_AFTER:  # a few: confirmed one by one (a list may leave out disabled members)
        known += outside
        outside = []
    preload = getattr(directory, "preload", None)
    if preload is not None and known:
        preload(known)
    found = {u: p for u in known if (p := _problem(directory, u, active))}
    found.update(dict.fromkeys(outside, "unknown userid"))
    return [(u, found[u]) for u in distinct if u in found]


def named(values: Sequence[str]) -> str:
    """`'a', 'b' and 3 more` for a message."""
    shown = ", ".join(repr(v) for v in values[:NAMED_IN_MESSAGE])
    more = len(values) - NAMED_IN_MESSAGE
    return f"{shown} and {more} more" if more > 0 else shown


def require_members(userids: Iterable[str], field: str, *, directory: Any = None, active: bool = True,
                    limit: int | None = None) -> None:
    """400 naming every userid of `field` that is not a member (with `active`: an active one);
    400 `limit_exceeded` when it names more than `limit` (default MAX_USERIDS)."""
    userids = list(userids)
    check_count(userids, field, limit)
    bad = problems(userids, directory=directory, active=active)
    if bad:
        kind = "an active member" if active else "a member"
        raise InvalidInput(f"{field}: not {kind} of the directory: {named([u for u, _ in bad])}",
                           details=[{"field": field, "problem": p, "value": u} for u, p in bad])


def require_member(userid: str, field: str, *, directory: Any = None) -> None:
    require_members([userid], field, directory=directory)


def require_actor(userid: str, field: str = "by", *, directory: Any = None) -> None:
    """403 when the person acting is not an active member (the action is refused, nothing changes)."""
    problem = _problem(_directory(directory), userid)
    if problem:
        raise Forbidden(f"{field}: {userid!r} may not act here ({problem})",
                        details={"field": field, "problem": problem, "value": userid})


def display_name(userid: str | None) -> str:
    """A member's name as people read it; their userid when the directory cannot say (a leaver, an
    upstream error): a name is never worth failing a message or a page for."""
    if not userid:
        return ""
    from wecom_oa import wiring

    try:
        return wiring.directory().user(userid).name
    except OAError:
        return userid
