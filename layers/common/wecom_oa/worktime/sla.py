"""SLA policies and the pure SLA clock: deadlines, warnings, breach and escalation levels.

A policy (chosen by ticket type + priority, most specific match wins) has several clocks, e.g.
`first_response` (stops on accept) and `resolution` (stops on resolve/close). Each clock counts
business time on a `BusinessCalendar` or wall time, from `SlaState.started_at`.

Contract of `evaluate(policy, state, calendar, now)`:
- Pure and idempotent: it returns the actions due at `now` whose keys are not in `state.fired`;
  after `state.record(evaluation.due)` the same call returns nothing new. Each action key
  (`<clock>#<cycle>:warning:<fraction>`, `…:breach`, `…:level:<n>`) fires at most once; a restarted
  clock (new cycle, e.g. after a transfer) has fresh keys.
- A stopped clock yields no actions, even ones that became due before the stop and were missed.
- A warning whose clock is already breached at `now` is stale and never returned.
- Pauses (waiting for the customer) are recorded per clock and apply to clocks with
  `pausable: true` (a stop → resume gap of a reopened ticket always applies): paused time is not
  counted, so every deadline moves by the paused business (or wall) time; while a pause is open
  the clock's deadline is unknown (None) and nothing of it is scheduled.
- Breached: running clock with `now >= deadline`, or counted time above the target (a clock
  stopped exactly at its deadline met it).
- `next_wakeup` is the earliest UTC instant after `now` at which an unfired action of a running,
  unpaused clock becomes due, or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from wecom_oa.errors import ConfigurationError, IllegalTransition, InvalidInput
from wecom_oa.validation import Model
from wecom_oa.worktime.calendar import (
    PACKAGE_DIR,
    BusinessCalendar,
    CalendarSet,
    _problems,
    _read_yaml,
)

DEFAULT_POLICIES_FILE = PACKAGE_DIR / "config" / "sla_policies.yaml"
_ZERO = timedelta(0)
_DURATION = re.compile(r"^\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+)\s*m(?:in)?)?\s*(?:(?P<s>\d+)\s*s)?\s*$")
# Stop conditions implied by a clock's name when `stop_on` is not given.
DEFAULT_STOP_ON = {"first_response": ["accept"], "resolution": ["resolve", "close"]}
PAUSE_ACTION, RESUME_ACTION = "wait_customer", "resume"
REOPEN_REASON = "reopened"
# Other names the ticket domain may use for a policy clock.
CLOCK_ALIASES = {"response": "first_response"}


def parse_duration(value: Any) -> Any:
    """`1h`, `90m`, `1h30m`, `45s`, `1.5h`; anything else is left to pydantic (ISO 8601, seconds)."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and any(match.groupdict().values()):
            parts = match.groupdict()
            return timedelta(
                hours=float(parts["h"] or 0), minutes=int(parts["m"] or 0), seconds=int(parts["s"] or 0)
            )
    return value


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


# ------------------------------------------------------------------------------------------- policy


class EscalationTarget(Model):
    """Who an escalation level notifies.

    kinds: `user` (userid), `role` (a WeCom tag name or id), `handler` (the assignee),
    `handler_leader` (the assignee's level-N leader, see `domain.directory.leader`),
    `team_lead` (lead of `team`, default the ticket's team).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["user", "role", "handler", "handler_leader", "team_lead"]
    userid: str | None = None
    tag: str | None = None
    level: int = Field(1, ge=1)
    team: str | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> EscalationTarget:
        if (self.kind == "user") != (self.userid is not None):
            raise ValueError("userid is required for kind user and only allowed there")
        if (self.kind == "role") != (self.tag is not None):
            raise ValueError("tag is required for kind role and only allowed there")
        if self.team is not None and self.kind != "team_lead":
            raise ValueError("team is only allowed for kind team_lead")
        if self.level != 1 and self.kind != "handler_leader":
            raise ValueError("level is only allowed for kind handler_leader")
        return self


class EscalationLevel(Model):
    """Notify `notify` once the clock has counted `after` (in the clock's own time kind)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: int = Field(ge=1)
    after: Duration
    notify: list[EscalationTarget] = Field(min_length=1)

    @field_validator("after")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= _ZERO:
            raise ValueError("after must be positive")
        return value


class ClockPolicy(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    target: Duration
    time: Literal["business", "wall"] = "business"
    # A named calendar from calendars.yaml (e.g. 7x24 for urgent tickets); default: the team's.
    calendar: str | None = None
    warnings: list[float] = Field(default_factory=list)
    escalations: list[EscalationLevel] = Field(default_factory=list)
    stop_on: list[str] = Field(default_factory=list)
    pausable: bool = False

    @model_validator(mode="before")
    @classmethod
    def _number_levels(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and isinstance(data.get("escalations"), list):
            levels = [
                {"level": i, **e} if isinstance(e, Mapping) and "level" not in e else e
                for i, e in enumerate(data["escalations"], start=1)
            ]
            return {**data, "escalations": levels}
        return data

    @field_validator("target")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= _ZERO:
            raise ValueError("target must be positive")
        return value

    @field_validator("warnings")
    @classmethod
    def _fractions(cls, value: list[float]) -> list[float]:
        if any(not 0 < w < 1 for w in value) or len(set(value)) != len(value):
            raise ValueError("warnings are distinct fractions of the target between 0 and 1, e.g. [0.5, 0.8]")
        return sorted(value)

    @field_validator("escalations")
    @classmethod
    def _ordered_levels(cls, value: list[EscalationLevel]) -> list[EscalationLevel]:
        for before, after in zip(value, value[1:], strict=False):
            if after.level <= before.level or after.after < before.after:
                raise ValueError(f"level {after.level} must come after level {before.level} (higher, not earlier)")
        return value


class PolicyMatch(Model):
    """Which tickets a policy covers; an absent field matches anything."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str | None = None
    priority: str | None = None


class SlaPolicy(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    match: PolicyMatch = Field(default_factory=PolicyMatch)
    clocks: dict[str, ClockPolicy] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _default_stop_on(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not isinstance(data.get("clocks"), Mapping):
            return data
        clocks = {}
        for name, body in data["clocks"].items():
            if name in CLOCK_ALIASES:
                raise ValueError(f"clocks.{name}: use the name {CLOCK_ALIASES[name]!r}")
            if isinstance(body, Mapping) and not body.get("stop_on"):
                if name not in DEFAULT_STOP_ON:
                    raise ValueError(f"clocks.{name}.stop_on: required for a clock other than {sorted(DEFAULT_STOP_ON)}")
                body = {**body, "stop_on": DEFAULT_STOP_ON[name]}
            clocks[name] = body
        return {**data, "clocks": clocks}


class SlaPolicySet(Model):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    policies: list[SlaPolicy] = Field(min_length=1)

    @field_validator("policies")
    @classmethod
    def _unique(cls, value: list[SlaPolicy]) -> list[SlaPolicy]:
        names: set[str] = set()
        matches: dict[tuple[str | None, str | None], str] = {}
        for policy in value:
            if policy.name in names:
                raise ValueError(f"policy name {policy.name!r} is used twice")
            names.add(policy.name)
            key = (policy.match.type, policy.match.priority)
            if key in matches:
                raise ValueError(f"policies {matches[key]!r} and {policy.name!r} match the same type/priority {key}")
            matches[key] = policy.name
        return value

    def select(self, ticket_type: str, priority: str | None = None) -> SlaPolicy:
        """The most specific matching policy: type+priority, then type, then priority, then catch-all."""
        best: tuple[int, SlaPolicy] | None = None
        for policy in self.policies:
            m = policy.match
            if m.type not in (None, ticket_type) or m.priority not in (None, priority):
                continue
            score = (2 if m.type is not None else 0) + (1 if m.priority is not None else 0)
            if best is None or score > best[0]:
                best = (score, policy)
        if best is None:
            raise ConfigurationError(f"no SLA policy matches type={ticket_type!r} priority={priority!r}")
        return best[1]

    def check_calendars(self, calendars: CalendarSet, source: str = "sla_policies") -> None:
        for i, policy in enumerate(self.policies):
            for name, clock in policy.clocks.items():
                if clock.calendar is not None and clock.calendar not in calendars.names:
                    raise ConfigurationError(
                        f"{source}: policies.{i}.clocks.{name}.calendar: unknown calendar {clock.calendar!r}"
                    )


def load_sla_policies(path: Path | None = None, *, calendars: CalendarSet | None = None) -> SlaPolicySet:
    """Load `sla_policies.yaml` (packaged by default); errors name the file and the field."""
    source = path or DEFAULT_POLICIES_FILE
    try:
        policies = SlaPolicySet.model_validate(_read_yaml(source))
    except ValidationError as exc:
        raise ConfigurationError(f"{source.name}: {_problems(exc)}") from None
    if calendars is not None:
        policies.check_calendars(calendars, source.name)
    return policies


# -------------------------------------------------------------------------------------------- state


class PauseInterval(Model):
    """Time a clock did not count. `reason` `reopened` marks the gap between a stop and a resume
    (a reopened ticket): it is never counted, even on a clock that is not `pausable`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: AwareDatetime
    end: AwareDatetime | None = None
    reason: str = PAUSE_ACTION


class ClockState(Model):
    """One clock's cycle: `cycle` grows on every restart (e.g. a transfer restarts first_response)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    cycle: int = Field(1, ge=1)
    started_at: AwareDatetime | None = None  # None: the ticket's `SlaState.started_at`
    pauses: list[PauseInterval] = Field(default_factory=list)
    stopped_at: AwareDatetime | None = None

    @field_validator("pauses")
    @classmethod
    def _ordered_pauses(cls, value: list[PauseInterval]) -> list[PauseInterval]:
        for i, pause in enumerate(value):
            if pause.end is not None and pause.end < pause.start:
                raise ValueError(f"pause {i} ends before it starts")
            if pause.end is None and i != len(value) - 1:
                raise ValueError(f"pause {i} is open but is not the last one")
            previous_end = value[i - 1].end if i else None
            if previous_end is not None and pause.start < previous_end:
                raise ValueError(f"pause {i} overlaps the previous one")
        return value

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None


class SlaState(Model):
    """What happened to a ticket's SLA clocks; stored with the ticket. Immutable: methods return copies.

    Clock names are canonical policy names; `CLOCK_ALIASES` (e.g. `response`) are accepted on input.
    A clock absent from `clocks` runs from `started_at` in cycle 1.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    started_at: AwareDatetime
    clocks: dict[str, ClockState] = Field(default_factory=dict)
    fired: list[str] = Field(default_factory=list)

    def clock(self, name: str) -> ClockState:
        return self.clocks.get(canonical_clock(name)) or ClockState()

    def clock_start(self, name: str) -> datetime:
        return (self.clock(name).started_at or self.started_at).astimezone(UTC)

    def _with(self, name: str, clock: ClockState) -> SlaState:
        return self.model_copy(update={"clocks": {**self.clocks, canonical_clock(name): clock}})

    def start(self, name: str, at: datetime) -> SlaState:
        """Start a clock, or restart it in a new cycle (fresh target, pauses, stop and fired keys).
        Starting again at the same instant is a no-op, so a retried command changes nothing."""
        at = _aware(at)
        current = self.clocks.get(canonical_clock(name)) or ClockState()
        if (current.started_at or self.started_at) == at:
            return self
        return self._with(name, ClockState(cycle=current.cycle + 1, started_at=at))

    def pause(self, name: str, at: datetime, reason: str = PAUSE_ACTION) -> SlaState:
        at = _aware(at)
        clock = self.clock(name)
        if clock.paused:
            raise IllegalTransition(f"SLA clock {name!r} is already paused")
        if clock.stopped_at is not None:
            raise IllegalTransition(f"SLA clock {name!r} is stopped")
        last_end = clock.pauses[-1].end if clock.pauses else None
        if last_end is not None and at < last_end:
            raise InvalidInput("a pause cannot start before the previous one ended", details={"field": "at"})
        pause = PauseInterval(start=at, reason=reason)
        return self._with(name, clock.model_copy(update={"pauses": [*clock.pauses, pause]}))

    def resume(self, name: str, at: datetime) -> SlaState:
        """End the open pause; on a stopped clock (a reopened ticket), continue counting from `at`."""
        at = _aware(at)
        clock = self.clock(name)
        if clock.stopped_at is not None:
            if at < clock.stopped_at:
                raise InvalidInput("resume is before the clock stopped", details={"field": "at"})
            gap = PauseInterval(start=clock.stopped_at, end=at, reason=REOPEN_REASON)
            return self._with(name, clock.model_copy(update={"pauses": [*clock.pauses, gap], "stopped_at": None}))
        if not clock.paused:
            raise IllegalTransition(f"SLA clock {name!r} is not paused")
        last = clock.pauses[-1]
        if at < last.start:
            raise InvalidInput("resume is before the pause started", details={"field": "at"})
        closed = last.model_copy(update={"end": at})
        return self._with(name, clock.model_copy(update={"pauses": [*clock.pauses[:-1], closed]}))

    def stop(self, name: str, at: datetime) -> SlaState:
        """Stop a clock (closing an open pause there). Stopping a stopped clock is a no-op."""
        at = _aware(at)
        clock = self.clock(name)
        if clock.stopped_at is not None:
            return self
        pauses = clock.pauses
        if clock.paused:
            pauses = [*pauses[:-1], pauses[-1].model_copy(update={"end": max(at, pauses[-1].start)})]
        return self._with(name, clock.model_copy(update={"stopped_at": at, "pauses": pauses}))

    def apply_change(self, op: Literal["start", "pause", "resume", "stop"], clock: str, at: datetime) -> SlaState:
        """Apply one clock change (the ticket domain's `SlaChange(op, clock)` effects)."""
        operations = {"start": self.start, "pause": self.pause, "resume": self.resume, "stop": self.stop}
        if op not in operations:
            raise InvalidInput(f"unknown SLA clock operation {op!r}", details={"field": "op"})
        return operations[op](clock, at)

    def apply_action(self, policy: SlaPolicy, action: str, at: datetime) -> SlaState:
        """Policy-driven alternative to `apply_change`: `wait_customer` pauses every running pausable
        clock, `resume` resumes the paused ones, any other action stops the clocks whose `stop_on`
        lists it (accept, resolve, close …). Unrelated actions change nothing."""
        state = self
        for name, clock_policy in policy.clocks.items():
            clock = state.clock(name)
            if action == PAUSE_ACTION and clock_policy.pausable and not clock.paused and clock.stopped_at is None:
                state = state.pause(name, at)
            elif action == RESUME_ACTION and clock.paused:
                state = state.resume(name, at)
            elif action in clock_policy.stop_on:
                state = state.stop(name, at)
        return state

    def record(self, actions: Iterable[DueAction]) -> SlaState:
        """Mark actions as fired (after they were sent) so they never fire again."""
        new = [a.key for a in actions if a.key not in self.fired]
        return self.model_copy(update={"fired": [*self.fired, *dict.fromkeys(new)]}) if new else self


def canonical_clock(name: str) -> str:
    return CLOCK_ALIASES.get(name, name)


def _aware(at: datetime, field: str = "at") -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise InvalidInput(f"{field} must be timezone-aware", details={"field": field})
    return at.astimezone(UTC)


# ----------------------------------------------------------------------------------------- evaluate


class DueAction(Model):
    model_config = ConfigDict(frozen=True)

    key: str
    clock: str
    kind: Literal["warning", "breach", "escalation"]
    due_at: datetime
    threshold: float | None = None
    level: int | None = None
    notify: list[EscalationTarget] = Field(default_factory=list)


class ClockStatus(Model):
    model_config = ConfigDict(frozen=True)

    clock: str
    label: str
    cycle: int
    time: Literal["business", "wall"]
    calendar: str
    target: timedelta
    started_at: datetime
    deadline: datetime | None
    explanation: str
    elapsed: timedelta
    remaining: timedelta
    paused: bool
    stopped_at: datetime | None
    breached: bool


class SlaEvaluation(Model):
    model_config = ConfigDict(frozen=True)

    policy: str
    now: datetime
    clocks: dict[str, ClockStatus]
    due: list[DueAction]
    next_wakeup: datetime | None

    @property
    def breached(self) -> bool:
        return any(c.breached for c in self.clocks.values())


Segment = tuple[datetime, datetime | None]


@dataclass(frozen=True)
class _Timeline:
    """A clock's counting function: time counted in `segments` (the last may be open-ended)."""

    measure: Callable[[datetime, datetime], timedelta]
    advance: Callable[[datetime, timedelta], datetime]
    segments: list[Segment]

    def elapsed(self, until: datetime) -> timedelta:
        total = _ZERO
        for start, end in self.segments:
            if start >= until:
                break
            total += self.measure(start, until if end is None else min(end, until))
        return total

    def instant(self, amount: timedelta) -> datetime | None:
        """When the counted time reaches `amount` (> 0); None if an open pause comes first."""
        left = amount
        for start, end in self.segments:
            if end is None:
                return self.advance(start, left)
            span = self.measure(start, end)
            if left <= span:
                return self.advance(start, left)
            left -= span
        return None


def _segments(start: datetime, pauses: list[PauseInterval]) -> list[Segment]:
    segments: list[Segment] = []
    cursor = start
    for pause in pauses:
        if pause.end is not None and pause.end <= cursor:
            continue
        if pause.start > cursor:
            segments.append((cursor, pause.start))
        if pause.end is None:
            return segments
        cursor = max(cursor, pause.end.astimezone(UTC))
    segments.append((cursor, None))
    return segments


def _timeline(clock: ClockPolicy, start: datetime, state: ClockState, calendar: BusinessCalendar) -> _Timeline:
    pauses = [p for p in state.pauses if clock.pausable or p.reason == REOPEN_REASON]
    if clock.time == "wall":
        return _Timeline(lambda a, b: b - a, lambda a, d: a + d, _segments(start, pauses))
    return _Timeline(calendar.business_time_between, calendar.add_business_time, _segments(start, pauses))


def _actions(name: str, cycle: int, clock: ClockPolicy) -> list[tuple[timedelta, DueAction]]:
    """Every action of a clock with the counted time at which it is due (due_at filled later)."""
    epoch = datetime.min.replace(tzinfo=UTC)
    prefix = f"{name}#{cycle}"
    actions = [
        (clock.target * w, DueAction(key=f"{prefix}:warning:{w:g}", clock=name, kind="warning", due_at=epoch, threshold=w))
        for w in clock.warnings
    ]
    actions.append((clock.target, DueAction(key=f"{prefix}:breach", clock=name, kind="breach", due_at=epoch)))
    actions += [
        (
            e.after,
            DueAction(
                key=f"{prefix}:level:{e.level}", clock=name, kind="escalation", due_at=epoch, level=e.level,
                notify=list(e.notify),
            ),
        )
        for e in clock.escalations
    ]
    return actions


def evaluate(
    policy: SlaPolicy,
    state: SlaState,
    calendar: BusinessCalendar,
    now: datetime,
    *,
    calendars: CalendarSet | None = None,
) -> SlaEvaluation:
    """Evaluate every clock of `policy` at `now` (see the module docstring for the contract).

    `calendar` is the ticket's (team's) calendar; a clock naming its own calendar needs `calendars`.
    """
    at = _aware(now, "now")
    statuses: dict[str, ClockStatus] = {}
    due: list[DueAction] = []
    wakeups: list[datetime] = []
    for name, clock in policy.clocks.items():
        clock_calendar = _calendar_for(clock, calendar, calendars)
        clock_state = state.clock(name)
        timeline = _timeline(clock, state.clock_start(name), clock_state, clock_calendar)
        status = _status(name, clock, state.clock_start(name), clock_state, clock_calendar, timeline, at)
        statuses[name] = status
        if status.stopped_at is not None:
            continue
        for amount, action in _actions(name, clock_state.cycle, clock):
            when = timeline.instant(amount)
            if when is None or action.key in state.fired:
                continue
            if when > at:
                wakeups.append(when)
            elif not (action.kind == "warning" and status.deadline is not None and status.deadline <= at):
                due.append(action.model_copy(update={"due_at": when}))
    order = {"warning": 0, "breach": 1, "escalation": 2}
    due.sort(key=lambda a: (a.due_at, order[a.kind], a.key))
    return SlaEvaluation(
        policy=policy.name, now=at, clocks=statuses, due=due, next_wakeup=min(wakeups) if wakeups else None
    )


def _calendar_for(
    clock: ClockPolicy, calendar: BusinessCalendar, calendars: CalendarSet | None
) -> BusinessCalendar:
    if clock.calendar is None:
        return calendar
    if calendars is None:
        raise ConfigurationError(f"clock uses calendar {clock.calendar!r} but no calendar set was given")
    return calendars.get(clock.calendar)


def _status(
    name: str,
    clock: ClockPolicy,
    start: datetime,
    state: ClockState,
    calendar: BusinessCalendar,
    timeline: _Timeline,
    now: datetime,
) -> ClockStatus:
    stopped_utc = state.stopped_at.astimezone(UTC) if state.stopped_at is not None else None
    counted_until = min(now, stopped_utc) if stopped_utc is not None else now
    elapsed = max(timeline.elapsed(counted_until), _ZERO)
    deadline = timeline.instant(clock.target)
    breached = elapsed > clock.target or (stopped_utc is None and deadline is not None and now >= deadline)
    paused = clock.pausable and state.paused and stopped_utc is None
    texts = calendar.texts
    if deadline is None:
        explanation = texts.paused_now.format(remaining=texts.duration(max(clock.target - elapsed, _ZERO)))
    else:
        paused_time = timeline.measure(start, deadline) - clock.target
        describe = calendar.describe_deadline if clock.time == "business" else calendar.describe_wall_deadline
        explanation = describe(start, deadline, clock.target, paused=paused_time)
    if stopped_utc is not None:
        explanation += "；" + texts.stopped.format(at=calendar.format_instant(stopped_utc))
    return ClockStatus(
        clock=name,
        label=texts.clock_names.get(name, name),
        cycle=state.cycle,
        time=clock.time,
        calendar=calendar.name,
        target=clock.target,
        started_at=start,
        deadline=deadline,
        explanation=explanation,
        elapsed=elapsed,
        remaining=clock.target - elapsed,
        paused=paused,
        stopped_at=stopped_utc,
        breached=breached,
    )
