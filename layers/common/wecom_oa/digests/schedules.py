"""Digest schedules: `ScheduleSpec` models, EventBridge Scheduler expression validation, fire times.

The local emulator accepts any expression, so validation happens here, at config load:

- `cron(minutes hours day-of-month month day-of-week year)` with EventBridge's grammar: exactly one
  of day-of-month / day-of-week is `?`; `, - * /` everywhere except day-of-week (no `/`); `L` and
  `W` (`nW`, `LW`) in day-of-month; `L`, `nL` and `n#k` in day-of-week; names JAN-DEC and SUN-SAT
  with 1=SUN; year 1970-2199. A range must not run backwards; a step must be 1..field maximum.
- `rate(N unit)` with unit minute(s)/hour(s)/day(s), singular exactly when N == 1.
- the timezone is an IANA name (zoneinfo).

Fire times follow EventBridge Scheduler's daylight-saving behaviour: a wall time that does not exist
is skipped, a repeated wall time fires once (the first occurrence). A rate fires every fixed
duration from an anchor (`start`, default local midnight 2000-01-01 in the schedule's timezone).

Errors: `InvalidSchedule` (InvalidInput) names the schedule and the problem; `load_digest_config`
raises `ConfigurationError` naming the file, the schedule and the problem.
"""

from __future__ import annotations

import calendar as _calendar
import contextlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from wecom_oa.digests.progress import ProgressPolicy
from wecom_oa.digests.reports import ReportPolicy
from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.notices.domain import NoticePolicy
from wecom_oa.validation import Model

if TYPE_CHECKING:
    from wecom_oa.worktime.calendar import WorkdayCalendar

DEFAULT_CONFIG_PATH = Path(__file__).resolve().parent.parent / "config" / "digests.yaml"
_NAME_RE = re.compile(r"^[0-9A-Za-z_.-]{1,64}$")
_MAX_YEAR = 2199
_MIN_YEAR = 1970


class InvalidSchedule(InvalidInput):
    """A schedule expression or timezone is not valid for EventBridge Scheduler."""


# ---------------------------------------------------------------------------------------------
# cron grammar


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # index 0 maps to `low`


_MINUTES = _Field("minutes", 0, 59)
_HOURS = _Field("hours", 0, 23)
_DOM = _Field("day-of-month", 1, 31)
_MONTH = _Field("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"))
_DOW = _Field("day-of-week", 1, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))
_YEAR = _Field("year", _MIN_YEAR, _MAX_YEAR)


class _CronError(ValueError):
    pass


def _value(field: _Field, token: str) -> int:
    upper = token.upper()
    if upper in field.names:
        return field.low + field.names.index(upper)
    if not token.isdigit():
        raise _CronError(f"{field.name}: {token!r} is not a number" + (
            f" or a name ({field.names[0]}-{field.names[-1]})" if field.names else ""))
    number = int(token)
    if not field.low <= number <= field.high:
        raise _CronError(f"{field.name}: {number} is outside {field.low}-{field.high}")
    return number


def _element(field: _Field, element: str, *, steps: bool) -> set[int]:
    """One comma-separated element: `*`, `n`, `a-b`, with an optional `/step` where allowed."""
    base, slash, step_text = element.partition("/")
    if slash and not steps:
        raise _CronError(f"{field.name}: '/' is not allowed in this field")
    step = 1
    if slash:
        if not step_text.isdigit() or not 1 <= int(step_text) <= field.high:
            raise _CronError(f"{field.name}: step {step_text!r} must be 1-{field.high}")
        step = int(step_text)
    if base == "*":
        start, end = field.low, field.high
    elif "-" in base:
        first, _, last = base.partition("-")
        start, end = _value(field, first), _value(field, last)
        if start > end:
            raise _CronError(f"{field.name}: range {base!r} runs backwards")
    else:
        start = _value(field, base)
        end = field.high if slash else start
    return set(range(start, end + 1, step))


def _plain_field(field: _Field, text: str, *, steps: bool = True) -> frozenset[int]:
    values: set[int] = set()
    for element in text.split(","):
        if not element:
            raise _CronError(f"{field.name}: empty list element in {text!r}")
        values |= _element(field, element, steps=steps)
    return frozenset(values)


@dataclass(frozen=True)
class _DayOfMonth:
    days: frozenset[int] = frozenset()
    last: bool = False  # L
    last_weekday: bool = False  # LW
    nearest_weekday: int | None = None  # nW

    def matches(self, d: date) -> bool:
        month_len = _calendar.monthrange(d.year, d.month)[1]
        if self.last:
            return d.day == month_len
        if self.last_weekday:
            return d == _weekday_on_or_before(date(d.year, d.month, month_len))
        if self.nearest_weekday is not None:
            return self.nearest_weekday <= month_len and d == _nearest_weekday(d, self.nearest_weekday)
        return d.day in self.days


@dataclass(frozen=True)
class _DayOfWeek:
    days: frozenset[int] = frozenset()  # EventBridge numbering, 1=SUN
    last_of: int | None = None  # nL: the last such weekday of the month
    nth: tuple[int, int] | None = None  # n#k: the k-th such weekday of the month

    def matches(self, d: date) -> bool:
        dow = _eb_weekday(d)
        if self.last_of is not None:
            return dow == self.last_of and d.day + 7 > _calendar.monthrange(d.year, d.month)[1]
        if self.nth is not None:
            weekday, k = self.nth
            return dow == weekday and (d.day - 1) // 7 + 1 == k
        return dow in self.days


def _eb_weekday(d: date) -> int:
    return d.isoweekday() % 7 + 1  # Monday=1 (ISO) -> 2; Sunday=7 (ISO) -> 1


def _weekday_on_or_before(d: date) -> date:
    while d.weekday() >= 5:
        d -= timedelta(days=1)
    return d


def _nearest_weekday(d: date, day: int) -> date:
    """Quartz `nW`: the weekday closest to day `day` without leaving the month."""
    target = date(d.year, d.month, day)
    month_len = _calendar.monthrange(d.year, d.month)[1]
    if target.weekday() == 5:  # Saturday: Friday before, or Monday after when the 1st
        return target - timedelta(days=1) if day > 1 else target + timedelta(days=2)
    if target.weekday() == 6:  # Sunday: Monday after, or Friday before when the month's end
        return target + timedelta(days=1) if day < month_len else target - timedelta(days=2)
    return target


def _parse_dom(text: str) -> _DayOfMonth:
    upper = text.upper()
    if upper == "L":
        return _DayOfMonth(last=True)
    if upper == "LW":
        return _DayOfMonth(last_weekday=True)
    if upper.endswith("W"):
        day = upper[:-1]
        if "," in day or "-" in day or "/" in day:
            raise _CronError("day-of-month: 'W' takes a single day, not a list or range")
        return _DayOfMonth(nearest_weekday=_value(_DOM, day))
    if "L" in upper or "W" in upper:
        raise _CronError(f"day-of-month: 'L' and 'W' must stand alone ({text!r})")
    return _DayOfMonth(days=_plain_field(_DOM, text))


def _parse_dow(text: str) -> _DayOfWeek:
    upper = text.upper()
    if upper == "L":
        return _DayOfWeek(days=frozenset({7}))  # last day of the week: SAT
    if "#" in upper:
        weekday, _, k = upper.partition("#")
        if "," in upper or "-" in upper:
            raise _CronError("day-of-week: '#' must stand alone")
        if not k.isdigit() or not 1 <= int(k) <= 5:
            raise _CronError(f"day-of-week: occurrence after '#' must be 1-5 ({text!r})")
        return _DayOfWeek(nth=(_value(_DOW, weekday), int(k)))
    if upper.endswith("L"):
        weekday = upper[:-1]
        if "," in weekday or "-" in weekday:
            raise _CronError("day-of-week: 'L' must stand alone")
        return _DayOfWeek(last_of=_value(_DOW, weekday))
    if "L" in upper:
        raise _CronError(f"day-of-week: 'L' must stand alone ({text!r})")
    return _DayOfWeek(days=_plain_field(_DOW, text, steps=False))


@dataclass(frozen=True)
class CronExpression:
    """A parsed EventBridge cron expression. Build with `parse_cron`."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    dom: _DayOfMonth | None  # None when '?'
    months: frozenset[int]
    dow: _DayOfWeek | None  # None when '?'
    years: frozenset[int]

    def matches_day(self, d: date) -> bool:
        if d.year not in self.years or d.month not in self.months:
            return False
        if self.dom is not None:
            return self.dom.matches(d)
        return self.dow is not None and self.dow.matches(d)

    def days(self, start: date, *, reverse: bool = False) -> Iterator[date]:
        """Matching days from `start` (inclusive), forwards or backwards, within 1970-2199."""
        step = timedelta(days=-1 if reverse else 1)
        d = start
        while _MIN_YEAR <= d.year <= _MAX_YEAR:
            if d.year not in self.years:
                d = date(d.year - 1, 12, 31) if reverse else date(d.year + 1, 1, 1)
                if not (_MIN_YEAR <= d.year <= _MAX_YEAR):
                    return
                continue
            if d.month not in self.months:
                d = _month_edge(d, reverse)
                continue
            if self.matches_day(d):
                yield d
            d += step


def _month_edge(d: date, reverse: bool) -> date:
    """The last day of the previous month (reverse) or the first of the next month."""
    if reverse:
        return date(d.year, d.month, 1) - timedelta(days=1)
    return date(d.year + (d.month == 12), d.month % 12 + 1, 1)


def parse_cron(body: str) -> CronExpression:
    """Parse the inside of `cron(...)`. Raises `_CronError` naming the field and the problem."""
    parts = body.split()
    if len(parts) != 6:
        raise _CronError(f"cron needs 6 fields (minutes hours day-of-month month day-of-week year), got {len(parts)}")
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise _CronError("exactly one of day-of-month and day-of-week must be '?'")
    for name, text in (("minutes", minute), ("hours", hour), ("month", month), ("year", year)):
        if "?" in text:
            raise _CronError(f"{name}: '?' is only allowed in day-of-month or day-of-week")
    return CronExpression(
        minutes=tuple(sorted(_plain_field(_MINUTES, minute))),
        hours=tuple(sorted(_plain_field(_HOURS, hour))),
        dom=None if dom == "?" else _parse_dom(dom),
        months=_plain_field(_MONTH, month),
        dow=None if dow == "?" else _parse_dow(dow),
        years=_plain_field(_YEAR, year),
    )


# ---------------------------------------------------------------------------------------------
# rate grammar

_RATE_RE = re.compile(r"^(\d+)\s+(minute|minutes|hour|hours|day|days)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass(frozen=True)
class RateExpression:
    value: int
    unit: Literal["minute", "hour", "day"]

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.value * _UNIT_SECONDS[self.unit])


def parse_rate(body: str) -> RateExpression:
    match = _RATE_RE.match(body.strip())
    if not match:
        raise _CronError(f"rate must be 'N minute(s)|hour(s)|day(s)', got {body!r}")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1:
        raise _CronError("rate value must be a positive integer")
    singular = unit.rstrip("s")
    if (value == 1) != (unit == singular):
        expected = singular if value == 1 else singular + "s"
        raise _CronError(f"rate({value} {unit}): use '{expected}' with {value}")
    return RateExpression(value, singular)  # type: ignore[arg-type]


_EXPR_RE = re.compile(r"^(cron|rate)\((.*)\)$", re.DOTALL)


def parse_expression(expression: str, *, schedule: str = "?") -> CronExpression | RateExpression:
    """Parse `cron(...)` or `rate(...)`. Raises InvalidSchedule naming the schedule and the problem."""
    match = _EXPR_RE.match(expression.strip())
    if not match:
        raise InvalidSchedule(
            f"schedule {schedule!r}: expression must be cron(...) or rate(...), got {expression!r}",
            details={"schedule": schedule, "field": "expression"},
        )
    kind, body = match.groups()
    try:
        return parse_cron(body) if kind == "cron" else parse_rate(body)
    except _CronError as exc:
        raise InvalidSchedule(
            f"schedule {schedule!r}: {expression} is invalid: {exc}",
            details={"schedule": schedule, "field": "expression", "problem": str(exc)},
        ) from None


def parse_timezone(name: str, *, schedule: str = "?") -> ZoneInfo:
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidSchedule(
            f"schedule {schedule!r}: timezone {name!r} is not an IANA timezone name",
            details={"schedule": schedule, "field": "timezone"},
        ) from None


# ---------------------------------------------------------------------------------------------
# models


class DigestKind(StrEnum):
    DAILY_SUMMARY = "daily_summary"
    PRODUCTION_PROGRESS = "production_progress"
    MISSING_REPORTS = "missing_reports"
    NOTICE_FOLLOWUP = "notice_followup"
    TASK_REMINDERS = "task_reminders"
    APPROVAL_RECONCILE = "approval_reconcile"
    TICKET_RECONCILE = "ticket_reconcile"


class Target(Model):
    """Where a digest goes: a group robot (ref = robot key parameter name), an app group chat
    (ref = chatid), or app messages (ref = '|'-joined userids or `party:<id>`). `ref: "@group"`
    means each project group's own target (see `ProjectGroup`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["robot", "appchat", "app"]
    ref: str = Field(min_length=1)


class DigestFilters(Model):
    model_config = ConfigDict(extra="forbid")
    groups: list[str] = Field(default_factory=list)  # empty: every project group
    item_kinds: list[Literal["task", "ticket", "approval", "alert"]] = Field(default_factory=list)
    risk_threshold: Annotated[float, Field(gt=0, le=1)] = 0.8  # SLA used ratio that counts as "near"


Period = Literal["day", "hour", "minute"]


class ScheduleSpec(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    expression: str
    timezone: str = "Asia/Shanghai"
    calendar: str = "default"
    workdays_only: bool = False  # fire, but do nothing, on non-workdays of `calendar`
    target: Target | None = None
    digest: DigestKind
    filters: DigestFilters = Field(default_factory=DigestFilters)
    only_if_non_empty: bool = True
    top_n: Annotated[int, Field(ge=1, le=50)] = 5
    period: Period | None = None  # idempotency bucket; inferred from the expression when unset
    start: datetime | None = None  # anchor of rate schedules
    enabled: bool = True
    description: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("name must be 1-64 characters of letters, digits, '-', '_' or '.'")
        return value

    @model_validator(mode="after")
    def _check(self) -> ScheduleSpec:
        parse_expression(self.expression, schedule=self.name)
        parse_timezone(self.timezone, schedule=self.name)
        if self.digest == DigestKind.DAILY_SUMMARY and "daily" not in self.name:
            raise ValueError(f"schedule {self.name!r}: a daily_summary schedule's name must contain 'daily'")
        if self.start is not None and self.start.tzinfo is None:
            raise ValueError(f"schedule {self.name!r}: start must carry a timezone offset")
        return self

    @cached_property
    def parsed(self) -> CronExpression | RateExpression:
        return parse_expression(self.expression, schedule=self.name)

    @cached_property
    def tz(self) -> ZoneInfo:
        return parse_timezone(self.timezone, schedule=self.name)


DepartmentId = Annotated[StrictInt, Field(ge=1)]


class ProjectGroup(Model):
    """A project group that receives the daily summary on its own channel.

    `departments`: WeCom department ids whose members (sub-departments included) belong to the
    group; an approval is the group's when its applicant's main department is in there."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    target: Target
    teams: list[str] = Field(default_factory=list)  # ticket teams whose items belong to this group
    departments: list[DepartmentId] = Field(default_factory=list)

    @field_validator("departments")
    @classmethod
    def _unique_departments(cls, value: list[int]) -> list[int]:
        dupes = sorted({d for d in value if value.count(d) > 1})
        if dupes:
            raise ValueError(f"duplicate department ids: {', '.join(map(str, dupes))}")
        return value


# A guard against a cyclic parent chain in a broken directory; WeCom allows 15 levels.
MAX_DEPARTMENT_DEPTH = 32


def group_of(department_id: int | None, groups: Sequence[ProjectGroup],
             parent_of: Callable[[int], int | None]) -> str | None:
    """The id of the first group (config order) whose `departments` hold `department_id` or one of
    its ancestors (`parent_of` gives a department's parent, None at the root); None when no group
    does or `department_id` is None. `parent_of` is called at most MAX_DEPARTMENT_DEPTH times."""
    if department_id is None:
        return None
    chain: list[int] = [department_id]
    while len(chain) < MAX_DEPARTMENT_DEPTH:
        parent = parent_of(chain[-1])
        if parent is None or parent in chain:
            break
        chain.append(parent)
    lineage = set(chain)
    return next((g.id for g in groups if lineage.intersection(g.departments)), None)


class DigestConfig(Model):
    model_config = ConfigDict(extra="forbid")
    base_url: str = "https://oa.example.com"
    links: dict[str, str] = Field(
        default_factory=lambda: {"task": "/tasks/{id}", "ticket": "/tickets/{id}", "approval": "/approvals/{id}"}
    )
    schedules: list[ScheduleSpec]
    groups: list[ProjectGroup] = Field(default_factory=list)
    progress: ProgressPolicy = Field(default_factory=ProgressPolicy)
    reports: ReportPolicy = Field(default_factory=ReportPolicy)
    notices: NoticePolicy = Field(default_factory=NoticePolicy)

    @model_validator(mode="after")
    def _unique(self) -> DigestConfig:
        for label, names in (("schedule", [s.name for s in self.schedules]), ("group", [g.id for g in self.groups])):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"duplicate {label} names: {', '.join(dupes)}")
        return self

    def schedule(self, name: str) -> ScheduleSpec:
        for spec in self.schedules:
            if spec.name == name:
                return spec
        raise InvalidInput(f"unknown schedule {name!r}", details={"schedule": name})


def load_digest_config(path: Path = DEFAULT_CONFIG_PATH) -> DigestConfig:
    """Load and validate digests.yaml. Raises ConfigurationError naming the file and the problem."""
    import yaml  # here, not at import: the features reading the project groups load this module, not the file

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path.name}: cannot read digest config ({type(exc).__name__})") from None
    try:
        return DigestConfig.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(err, data) for err in exc.errors()]
        raise ConfigurationError(f"{path.name}: " + "; ".join(problems), details={"file": path.name}) from None
    except InvalidSchedule as exc:
        raise ConfigurationError(f"{path.name}: {exc.message}", details=exc.details) from None


def _describe(err: Any, data: Any) -> str:
    loc = list(err.get("loc", ()))
    where = ".".join(str(p) for p in loc)
    label, name_key = {"schedules": ("schedule", "name"), "groups": ("group", "id")}.get(
        str(loc[0]) if loc else "", ("", ""))
    if label and len(loc) >= 2 and isinstance(loc[1], int):
        with contextlib.suppress(KeyError, IndexError, TypeError, AttributeError):
            where = f"{label} {data[loc[0]][loc[1]].get(name_key, loc[1])!r}" + (
                f" field {'.'.join(str(p) for p in loc[2:])}" if loc[2:] else "")
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


# ---------------------------------------------------------------------------------------------
# fire times and periods


def next_fire_times(spec: ScheduleSpec, after: datetime, n: int = 1) -> list[datetime]:
    """The next `n` fire times strictly after `after`, aware in the schedule's timezone.

    Fewer than `n` when the expression stops firing (year limit). Raises InvalidInput for a naive `after`.
    """
    _require_aware(after)
    out: list[datetime] = []
    for when in _iter_fires(spec, after):
        out.append(when)
        if len(out) >= n:
            break
    return out


def previous_fire_time(spec: ScheduleSpec, at: datetime) -> datetime | None:
    """The latest fire time at or before `at`, or None if the schedule never fired before it."""
    _require_aware(at)
    parsed, tz = spec.parsed, spec.tz
    if isinstance(parsed, RateExpression):
        anchor = _rate_anchor(spec)
        if at < anchor:
            return None
        steps = (at - anchor) // parsed.interval
        return (anchor + steps * parsed.interval).astimezone(tz)
    local = at.astimezone(tz)
    for day in parsed.days(local.date(), reverse=True):
        for hour in reversed(parsed.hours):
            for minute in reversed(parsed.minutes):
                when = _wall_time(day, hour, minute, tz)
                if when is not None and when <= at:
                    return when
    return None


def period_granularity(spec: ScheduleSpec) -> Period:
    if spec.period is not None:
        return spec.period
    parsed = spec.parsed
    if isinstance(parsed, RateExpression):
        return parsed.unit
    if len(parsed.minutes) > 1:
        return "minute"
    return "hour" if len(parsed.hours) > 1 else "day"


_PERIOD_FORMATS: dict[str, str] = {"day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H", "minute": "%Y-%m-%dT%H:%M"}


def period_key(spec: ScheduleSpec, fired_at: datetime, *, grace: timedelta = timedelta(minutes=1)) -> str:
    """`<name>:<local period>` of the scheduled fire that `fired_at` belongs to, for once-per-period sends.

    A delivery up to `grace` early (clock skew, virtual clock) still counts for the coming fire; a
    late or retried delivery maps to the fire it belongs to, so both produce the same key.
    """
    when = previous_fire_time(spec, fired_at + grace) or fired_at.astimezone(spec.tz)
    return f"{spec.name}:{when.astimezone(spec.tz).strftime(_PERIOD_FORMATS[period_granularity(spec)])}"


def local_date(spec: ScheduleSpec, when: datetime) -> date:
    _require_aware(when)
    return when.astimezone(spec.tz).date()


def should_fire(spec: ScheduleSpec, calendar: WorkdayCalendar, fired_at: datetime) -> bool:
    """False when the schedule is disabled, or restricted to workdays and the local date is not one."""
    if not spec.enabled:
        return False
    return not spec.workdays_only or calendar.is_workday(local_date(spec, fired_at))


def _iter_fires(spec: ScheduleSpec, after: datetime) -> Iterator[datetime]:
    parsed, tz = spec.parsed, spec.tz
    if isinstance(parsed, RateExpression):
        anchor = _rate_anchor(spec)
        step = parsed.interval
        k = 0 if after < anchor else (after - anchor) // step + 1
        while True:
            yield (anchor + k * step).astimezone(tz)
            k += 1
    local = after.astimezone(tz)
    for day in parsed.days(local.date()):
        for hour in parsed.hours:
            for minute in parsed.minutes:
                when = _wall_time(day, hour, minute, tz)
                if when is not None and when > after:
                    yield when


def _wall_time(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime | None:
    """The aware instant of a local wall time; None when DST skips it; the first of a repeated one."""
    naive = datetime.combine(day, time(hour, minute))
    aware = naive.replace(tzinfo=tz, fold=0)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return aware


def _rate_anchor(spec: ScheduleSpec) -> datetime:
    if spec.start is not None:
        return spec.start
    return datetime(2000, 1, 1, tzinfo=spec.tz)


def _require_aware(when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise InvalidInput("a timezone-aware datetime is required", details={"field": "datetime"})


def next_fire_time(expression: str, timezone: str, after: datetime) -> datetime | None:
    """The next fire time of a bare expression + IANA timezone strictly after `after` (the local
    runner's view of a template schedule), or None when it never fires again.

    Raises InvalidSchedule for a bad expression or timezone, InvalidInput for a naive `after`.
    """
    _require_aware(after)
    parse_expression(expression, schedule="template")
    parse_timezone(timezone, schedule="template")
    spec = ScheduleSpec.model_construct(name="template", expression=expression, timezone=timezone,
                                        digest=DigestKind.APPROVAL_RECONCILE, period=None, start=None)
    fires = next_fire_times(spec, after, 1)
    return fires[0] if fires else None
