"""Broadcast notices with per-person acknowledgement (an `ack` button on the card).

- `expand_recipients`: touser / toparty / totag through the Directory port, deduplicated in order;
  unknown users, departments or tags raise InvalidInput naming each one.
- `batches`: at most 1000 userids per message/send call (WeCom's touser limit), so N recipients
  take ceil(N/1000) calls.
- `ack_stats`: overall and per-department (main department) ack rate, the pending list.
- `plan_followup`: which follow-up stages are due: nudge non-ackers once after `nudge_after`, a note
  to their level-1 leaders (grouped per leader) once after `escalate_after`, a final report to the
  sender once at the deadline (or as soon as everyone has acknowledged). Each stage is recorded in
  `FollowupState` and never planned again; stages that fall due after the deadline or after
  everyone acknowledged are recorded as skipped. The caller stores the returned state with a
  conditional write before sending, so a retried run plans nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, field_validator, model_validator

from wecom_oa.directory import Directory, leader
from wecom_oa.errors import Forbidden, InvalidInput, NotFound
from wecom_oa.texts import Templates
from wecom_oa.validation import Model

WECOM_MAX_TOUSER = 1000
ROOT_DEPARTMENT = 1
Stage = Literal["nudge", "escalate", "final_report"]


class NoticePolicy(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)
    nudge_after_minutes: int = Field(default=120, ge=1)
    escalate_after_minutes: int = Field(default=240, ge=1)
    batch_size: int = Field(default=WECOM_MAX_TOUSER, ge=1, le=WECOM_MAX_TOUSER)
    # A notice without ack_deadline is due at this local time, this many workdays after it is sent.
    default_deadline_workdays: int = Field(default=1, ge=0, le=30)
    default_deadline_time: time = time(18, 0)

    @model_validator(mode="after")
    def _order(self) -> NoticePolicy:
        if self.escalate_after_minutes <= self.nudge_after_minutes:
            raise ValueError("escalate_after_minutes must be greater than nudge_after_minutes")
        return self


def _split_ids(value: Any) -> Any:
    """Accept WeCom's '|'-joined form as well as a list."""
    if isinstance(value, str):
        return [v for v in value.split("|") if v]
    return value


class Notice(Model):
    """POST /notices body (plus the server-set id, sender and created_at)."""

    model_config = ConfigDict(extra="forbid")
    id: str | None = None
    title: str = Field(min_length=1, max_length=128)
    content: str = Field(min_length=1, max_length=4000)
    sender: str = Field(min_length=1, max_length=64)  # the member who publishes it; gets the final report
    touser: list[str] = Field(default_factory=list)
    toparty: list[int] = Field(default_factory=list)
    totag: list[str | int] = Field(default_factory=list)
    # Members of downstream partner corps (上下游): [{corp, users}], reached as the shared app there.
    partners: list[dict[str, Any]] = Field(default_factory=list)
    ack_deadline: datetime  # optional in POST /notices: `default_ack_deadline` fills it
    created_at: datetime | None = None
    nudge_after_minutes: int | None = Field(default=None, ge=1)
    escalate_after_minutes: int | None = Field(default=None, ge=1)

    @field_validator("touser", "toparty", "totag", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _split_ids(value)

    @model_validator(mode="after")
    def _check(self) -> Notice:
        if not (self.touser or self.toparty or self.totag or self.partners):
            raise ValueError("at least one of touser, toparty, totag, partners is required")
        if self.ack_deadline.tzinfo is None:
            raise ValueError("ack_deadline must carry a timezone offset")
        if self.created_at is not None and self.ack_deadline <= self.created_at:
            raise ValueError("ack_deadline must be after created_at")
        return self

    def stage_times(self, policy: NoticePolicy) -> dict[Stage, datetime]:
        if self.created_at is None:
            raise InvalidInput("notice has no created_at", details={"field": "created_at"})
        nudge = self.nudge_after_minutes or policy.nudge_after_minutes
        escalate = self.escalate_after_minutes or policy.escalate_after_minutes
        if escalate <= nudge:
            raise InvalidInput("escalate_after_minutes must be greater than nudge_after_minutes",
                               details={"field": "escalate_after_minutes"})
        return {
            "nudge": self.created_at + timedelta(minutes=nudge),
            "escalate": self.created_at + timedelta(minutes=escalate),
            "final_report": self.ack_deadline,
        }


class Recipients(Model):
    userids: list[str]
    inactive: list[str] = Field(default_factory=list)  # named or expanded, but disabled / exited


def default_ack_deadline(now: datetime, calendar: Any, policy: NoticePolicy, timezone: str) -> datetime:
    """`default_deadline_time` on the `default_deadline_workdays`-th workday after today (local):
    a notice sent on Friday without a deadline is due on Monday 18:00, not on Saturday."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(timezone)
    day = now.astimezone(tz).date()
    left = policy.default_deadline_workdays
    while left > 0:
        day += timedelta(days=1)
        if calendar.is_workday(day):
            left -= 1
    due = datetime.combine(day, policy.default_deadline_time, tzinfo=tz)
    return due if due > now else due + timedelta(days=1)


def expand_recipients(notice: Notice, directory: Directory, *, active_only: bool = True) -> Recipients:
    """Distinct recipients in order (touser, then parties, then tags). `@all` = the root department.

    Raises InvalidInput listing every unknown user, department and tag with its field.
    """
    ordered: dict[str, None] = {}
    unknown: list[dict[str, Any]] = []
    preload = getattr(directory, "preload", None)  # optional bulk read (WeComDirectory)
    if preload is not None:
        preload([u for u in notice.touser if u != "@all"])
    for index, userid in enumerate(notice.touser):
        if userid == "@all":
            ordered.update(dict.fromkeys(directory.department_members(ROOT_DEPARTMENT)))
        else:
            ordered.setdefault(userid)
            if not _exists(directory, userid):
                unknown.append({"field": f"touser[{index}]", "value": userid})
    for index, party in enumerate(notice.toparty):
        try:
            ordered.update(dict.fromkeys(directory.department_members(party)))
        except NotFound:
            unknown.append({"field": f"toparty[{index}]", "value": party})
    for index, tag in enumerate(notice.totag):
        try:
            ordered.update(dict.fromkeys(directory.tag_members(tag)))
        except NotFound:
            unknown.append({"field": f"totag[{index}]", "value": tag})
    if unknown:
        names = ", ".join(f"{u['field']}={u['value']}" for u in unknown)
        raise InvalidInput(f"unknown recipients: {names}", details=unknown)
    if not active_only:
        return Recipients(userids=list(ordered))
    if preload is not None:
        preload(list(ordered))
    active, inactive = [], []
    for userid in ordered:
        (active if directory.user(userid).status == 1 else inactive).append(userid)
    return Recipients(userids=active, inactive=inactive)


def _exists(directory: Directory, userid: str) -> bool:
    try:
        directory.user(userid)
    except NotFound:
        return False
    return True


def batches(userids: Sequence[str], size: int = WECOM_MAX_TOUSER) -> list[list[str]]:
    """Consecutive slices of at most `size` (<= 1000) userids: one message/send call each."""
    if not 1 <= size <= WECOM_MAX_TOUSER:
        raise InvalidInput(f"batch size must be 1-{WECOM_MAX_TOUSER}", details={"field": "size"})
    return [list(userids[i : i + size]) for i in range(0, len(userids), size)]


def record_ack(recipients: Iterable[str], acks: Mapping[str, datetime], userid: str, at: datetime) -> dict[str, datetime]:
    """The acks after `userid` acknowledged at `at`; a repeated ack keeps the first time.

    Raises Forbidden when `userid` is not a recipient (e.g. a forwarded card).
    """
    if userid not in set(recipients):
        raise Forbidden(f"user {userid!r} is not a recipient of this notice", details={"userid": userid})
    if userid in acks:
        return dict(acks)
    return {**acks, userid: at}


class DepartmentAck(Model):
    department_id: int | None
    department: str | None
    total: int
    acknowledged: int
    ack_rate: float


class AckStats(Model):
    recipients: int
    acknowledged: int
    ack_rate: float  # acknowledged / recipients, 0.0 when there are no recipients
    pending: list[str]
    by_department: list[DepartmentAck]  # lowest rate first


def _rate(done: int, total: int) -> float:
    return done / total if total else 0.0


def ack_stats(recipients: Sequence[str], acks: Mapping[str, Any], directory: Directory) -> AckStats:
    """Ack rate overall and per main department. Acks from non-recipients are not counted."""
    dept_of: dict[str, int | None] = {}
    for userid in recipients:
        try:
            dept_of[userid] = directory.user(userid).department
        except NotFound:
            dept_of[userid] = None
    totals: dict[int | None, list[int]] = defaultdict(lambda: [0, 0])
    for userid in recipients:
        cell = totals[dept_of[userid]]
        cell[0] += 1
        cell[1] += userid in acks
    by_department = [
        DepartmentAck(department_id=dept, department=_dept_name(directory, dept), total=total,
                      acknowledged=done, ack_rate=_rate(done, total))
        for dept, (total, done) in totals.items()
    ]
    by_department.sort(key=lambda d: (d.ack_rate, d.department_id if d.department_id is not None else -1))
    acknowledged = sum(1 for u in recipients if u in acks)
    return AckStats(
        recipients=len(recipients),
        acknowledged=acknowledged,
        ack_rate=_rate(acknowledged, len(recipients)),
        pending=[u for u in recipients if u not in acks],
        by_department=by_department,
    )


def _dept_name(directory: Directory, dept: int | None) -> str | None:
    if dept is None:
        return None
    try:
        return directory.department(dept).name
    except NotFound:
        return None


# ---------------------------------------------------------------------------------------------
# follow-up plan


class FollowupState(Model):
    nudged_at: datetime | None = None
    escalated_at: datetime | None = None
    final_at: datetime | None = None
    skipped: list[Stage] = Field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.final_at is not None


class FollowupAction(Model):
    stage: Stage
    userids: list[str] = Field(default_factory=list)  # nudge: the non-ackers
    leader_notes: dict[str, list[str]] = Field(default_factory=dict)  # escalate: leader -> non-ackers
    without_leader: list[str] = Field(default_factory=list)  # escalate: non-ackers nobody is above
    stats: AckStats | None = None  # final report


NUDGE_SLACK = timedelta(minutes=30)  # a sweep's normal lateness (it runs every 15 minutes)


def plan_followup(
    notice: Notice,
    recipients: Sequence[str],
    acks: Mapping[str, Any],
    state: FollowupState,
    now: datetime,
    directory: Directory,
    policy: NoticePolicy | None = None,
) -> tuple[list[FollowupAction], FollowupState]:
    """The follow-up actions due at `now` and the next state (see module doc). Pure."""
    if state.done:
        return [], state
    due = notice.stage_times(policy or NoticePolicy())
    pending = [u for u in recipients if u not in acks]
    closing = now >= due["final_report"] or not pending
    actions: list[FollowupAction] = []
    update: dict[str, Any] = {}
    skipped = list(state.skipped)
    if state.nudged_at is None and (now >= due["nudge"] or closing):
        update["nudged_at"] = now
        if closing or due["nudge"] >= due["final_report"]:
            skipped.append("nudge")
        else:
            actions.append(FollowupAction(stage="nudge", userids=pending))
    # Leaders hear only after members had their nudge's head start: a nudge that went out late
    # (held by quiet hours, or a sweep outage; more than NUDGE_SLACK) moves the leader note by as much.
    nudged_at = update.get("nudged_at", state.nudged_at)
    escalate_at = due["escalate"]
    if nudged_at is not None and "nudge" not in skipped and nudged_at - due["nudge"] > NUDGE_SLACK:
        escalate_at = due["escalate"] + (nudged_at - due["nudge"])
    if state.escalated_at is None and (now >= escalate_at or closing):
        update["escalated_at"] = now
        if closing or due["escalate"] >= due["final_report"]:
            skipped.append("escalate")
        else:
            actions.append(_escalation(pending, directory))
    if closing:
        update["final_at"] = now
        actions.append(FollowupAction(stage="final_report", stats=ack_stats(recipients, acks, directory)))
    return actions, state.model_copy(update={**update, "skipped": skipped})


def _escalation(pending: Sequence[str], directory: Directory) -> FollowupAction:
    notes: dict[str, list[str]] = defaultdict(list)
    orphans: list[str] = []
    for userid in pending:
        try:
            boss = leader(directory, userid, 1)
        except NotFound:
            boss = None
        if boss is None:
            orphans.append(userid)
        else:
            notes[boss].append(userid)
    return FollowupAction(stage="escalate", leader_notes=dict(sorted(notes.items())), without_leader=orphans)


# ---------------------------------------------------------------------------------------------
# rendering


def render_nudge(notice: Notice, templates: Templates, tz: ZoneInfo) -> str:
    return templates.fill("notices.nudge", title=notice.title,
                          deadline=notice.ack_deadline.astimezone(tz).strftime("%m-%d %H:%M"))


LEADER_NOTE_NAMES = 20  # a region manager with 100 stores pending reads 20 names and a count


def render_leader_note(notice: Notice, members: Sequence[str], templates: Templates,
                       names: Mapping[str, str] | None = None) -> str:
    names = names or {}
    who = "、".join(names.get(u, u) for u in members[:LEADER_NOTE_NAMES])
    if len(members) > LEADER_NOTE_NAMES:
        who += templates.fill("notices.more_names", more=len(members) - LEADER_NOTE_NAMES)
    return templates.fill("notices.leader_note", title=notice.title, count=len(members), names=who)


def render_final_summary(notice: Notice, summary: Mapping[str, Any], templates: Templates, *,
                         pending_names: Sequence[str] = (), url: str = "", lowest: int = 5) -> list[str]:
    """The final report of any size: the overall rate, the lowest regions and departments (at most
    `lowest` of each) and the pending names when few, with a link to the full list; a 6000-store
    notice reads the same few lines as a 20-person one (split for the channel's limit)."""
    lines = [templates.fill("notices.final_header", title=notice.title, recipients=summary["recipients"],
                            acknowledged=summary["acknowledged"], rate=f"{summary['ack_rate']:.1%}")]
    unknown = templates.text("notices.unknown_department")
    regions = [r for r in summary["by_region"] if r["region"] is not None]
    if len(regions) > 1:
        lines.append(templates.fill("notices.final_lowest_regions", count=min(lowest, len(regions))))
        lines += [templates.fill("notices.final_department", department=r["region"], total=r["total"],
                                 acknowledged=r["acknowledged"], rate=f"{r['ack_rate']:.1%}")
                  for r in regions[:lowest]]
    departments = summary["by_department"]
    if len(departments) > lowest:
        lines.append(templates.fill("notices.final_lowest_departments", count=lowest, total=len(departments)))
    lines += [templates.fill("notices.final_department", department=d["department"] or unknown, total=d["total"],
                             acknowledged=d["acknowledged"], rate=f"{d['ack_rate']:.1%}")
              for d in departments[:lowest]]
    pending = summary["recipients"] - summary["acknowledged"]
    if pending and pending_names:
        shown = "、".join(pending_names[:LEADER_NOTE_NAMES])
        more = pending - min(len(pending_names), LEADER_NOTE_NAMES)
        key = "notices.final_pending_more" if more > 0 else "notices.final_pending"
        lines.append(templates.fill(key, count=pending, names=shown, more=more))
    elif pending:
        lines.append(templates.fill("notices.final_pending_count", count=pending))
    if url:
        lines.append(templates.fill("notices.final_link", url=url))
    return lines


def render_final_report(notice: Notice, stats: AckStats, templates: Templates, *, max_pending_names: int = 20,
                        names: Mapping[str, str] | None = None) -> list[str]:
    """Final report lines (split with `digests.split_markdown` for the channel's limit)."""
    names = names or {}
    lines = [templates.fill("notices.final_header", title=notice.title, recipients=stats.recipients,
                            acknowledged=stats.acknowledged, rate=f"{stats.ack_rate:.1%}")]
    unknown = templates.text("notices.unknown_department")
    for dept in stats.by_department:
        lines.append(templates.fill("notices.final_department", department=dept.department or unknown,
                                    total=dept.total, acknowledged=dept.acknowledged, rate=f"{dept.ack_rate:.1%}"))
    if stats.pending:
        shown = "、".join(names.get(u, u) for u in stats.pending[:max_pending_names])
        more = len(stats.pending) - max_pending_names
        key = "notices.final_pending_more" if more > 0 else "notices.final_pending"
        lines.append(templates.fill(key, count=len(stats.pending), names=shown, more=more))
    return lines
