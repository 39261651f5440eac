"""China-native business calendar: work windows, weekdays, statutory holidays and make-up workdays (调休).

Contract:
- Every datetime argument must be timezone-aware (`InvalidInput` otherwise); every datetime returned
  is in UTC. Work windows are local wall times in the calendar's IANA timezone, so DST shifts are
  honoured (a 09:00–18:00 window is 9 real hours on every day, whatever the offset). A window bound
  that falls inside a DST switch hour itself is resolved by zoneinfo's fold=0 rule; keep bounds
  outside 02:00–03:00 in DST zones for exact local-wall-time semantics.
- Windows are half-open `[start, end)`; `end` may be `24:00`. A positive duration that runs out exactly
  at a window's end yields that end (the earliest instant), not the next window's start.
- A day's status, in order of precedence: the config's `extra_holidays` / `extra_workdays`; then, with
  `chinese_holidays: true`, chinesecalendar's statutory holidays and 调休 workdays (for years not listed
  in `override_years`); then the `weekdays` rule. A year that neither chinesecalendar nor
  `override_years` covers raises `ConfigurationError`, unless `unknown_year_policy: weekdays`.
- Arithmetic walks whole windows (never minutes). A calendar without any working time for
  `MAX_IDLE_DAYS` consecutive days raises `ConfigurationError` instead of looping.
- `always_on: true` is the 7×24 calendar: business time equals wall time.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar
from chinese_calendar.constants import holidays as _CC_HOLIDAYS
from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.validation import Model

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_CALENDARS_FILE = PACKAGE_DIR / "config" / "calendars.yaml"
DEFAULT_TEXTS_FILE = PACKAGE_DIR / "templates" / "sla.yaml"

MAX_IDLE_DAYS = 400
CHINESE_CALENDAR_YEARS = (min(_CC_HOLIDAYS).year, max(_CC_HOLIDAYS).year)
_CHINA_ZONES = {"Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC"}
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_ZERO = timedelta(0)

Interval = tuple[datetime, datetime]
DayReason = Literal[
    "workday", "weekend", "rest_day", "holiday", "makeup_workday", "extra_holiday", "extra_workday"
]


# --------------------------------------------------------------------------------------------- config


class WorkdayCalendar(Protocol):
    """What the digests need from the business calendar (holidays, 调休 make-up workdays)."""

    def is_workday(self, d: date) -> bool: ...


class WorkWindow(Model):
    """One local working period of a day, `[start, end)`, as `HH:MM` (end may be `24:00`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str
    end: str

    @field_validator("start", "end")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        match = _HHMM.match(value)
        if not match or (match.group(1) == "24" and match.group(2) != "00"):
            raise ValueError(f"expected HH:MM between 00:00 and 24:00, got {value!r}")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> WorkWindow:
        if self.start_minute >= self.end_minute:
            raise ValueError(f"window {self.start}–{self.end} ends before it starts")
        if self.start_minute == 24 * 60:
            raise ValueError("a window cannot start at 24:00")
        return self

    @property
    def start_minute(self) -> int:
        return _minutes(self.start)

    @property
    def end_minute(self) -> int:
        return _minutes(self.end)


class DateOverride(Model):
    """A dated exception: a bare date (`2027-01-01`) or `{date: 2027-01-01, name: 元旦}`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    date: date
    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_date(cls, value: Any) -> Any:
        if isinstance(value, date | str):
            return {"date": value}
        return value


def _default_windows() -> list[WorkWindow]:
    return [WorkWindow(start="09:00", end="12:00"), WorkWindow(start="13:00", end="18:00")]


class CalendarConfig(Model):
    """One calendar as configured in `config/calendars.yaml`. Weekdays are ISO (1 = Monday)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "default"
    timezone: str = "Asia/Shanghai"
    always_on: bool = False
    windows: list[WorkWindow] = Field(default_factory=_default_windows)
    # Per-weekday windows (e.g. a Saturday half-day); make-up workdays always use `windows`.
    windows_by_weekday: dict[int, list[WorkWindow]] = Field(default_factory=dict)
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    chinese_holidays: bool = True
    extra_holidays: list[DateOverride] = Field(default_factory=list)
    extra_workdays: list[DateOverride] = Field(default_factory=list)
    # Years whose statutory holidays and 调休 are given completely by the extra lists above
    # (years chinesecalendar does not ship yet, or corrections to its data).
    override_years: list[int] = Field(default_factory=list)
    unknown_year_policy: Literal["error", "weekdays"] = "error"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if any(d < 1 or d > 7 for d in value) or len(set(value)) != len(value):
            raise ValueError("weekdays are distinct ISO numbers 1 (Monday) … 7 (Sunday)")
        return sorted(value)

    @field_validator("windows")
    @classmethod
    def _windows(cls, value: list[WorkWindow]) -> list[WorkWindow]:
        return _check_windows(value)

    @field_validator("windows_by_weekday")
    @classmethod
    def _windows_by_weekday(cls, value: dict[int, list[WorkWindow]]) -> dict[int, list[WorkWindow]]:
        for day, windows in value.items():
            if day < 1 or day > 7:
                raise ValueError(f"weekday {day} is not an ISO weekday 1…7")
            value[day] = _check_windows(windows)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CalendarConfig:
        if not self.always_on and not self.windows:
            raise ValueError("a calendar needs at least one window unless always_on is true")
        clash = {o.date for o in self.extra_holidays} & {o.date for o in self.extra_workdays}
        if clash:
            raise ValueError(f"dates both extra holiday and extra workday: {sorted(map(str, clash))}")
        return self


def _check_windows(windows: list[WorkWindow]) -> list[WorkWindow]:
    ordered = sorted(windows, key=lambda w: w.start_minute)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start_minute < before.end_minute:
            raise ValueError(f"windows {before.start}–{before.end} and {after.start}–{after.end} overlap")
    return ordered


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


# ---------------------------------------------------------------------------------------------- texts


_TEXT_FIELDS: dict[str, set[str]] = {
    "instant": {"year", "month", "day", "weekday", "time"},
    "date": {"year", "month", "day", "weekday"},
    "hours": {"n"},
    "minutes": {"n"},
    "seconds": {"n"},
    "deadline_business": {"deadline", "start", "duration"},
    "deadline_wall": {"deadline", "start", "duration"},
    "deferred_start": {"start", "first"},
    "skipped": {"items"},
    "makeup_workdays": {"dates"},
    "paused_extra": {"duration"},
    "timezone_note": {"tz"},
    "paused_now": {"remaining"},
    "stopped": {"at"},
}


class SlaTexts(Model):
    """Chinese fragments from `templates/sla.yaml`; placeholders are checked when loaded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    weekdays: list[str] = Field(min_length=7, max_length=7)
    instant: str
    date: str
    hours: str
    minutes: str
    seconds: str
    duration_separator: str = " "
    duration_zero: str
    deadline_business: str
    deadline_wall: str
    deferred_start: str
    skipped: str
    weekend: str
    rest_day: str
    company_holiday: str
    list_separator: str
    list_last_separator: str
    makeup_workdays: str
    paused_extra: str
    timezone_note: str
    paused_now: str
    stopped: str
    holiday_names: dict[str, str] = Field(default_factory=dict)
    clock_names: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _placeholders(self) -> SlaTexts:
        for name, allowed in _TEXT_FIELDS.items():
            used = {f for _, f, _, _ in string.Formatter().parse(getattr(self, name)) if f is not None}
            unknown = used - allowed
            if unknown:
                raise ValueError(f"{name}: unknown placeholder(s) {sorted(unknown)}; allowed {sorted(allowed)}")
        return self

    def duration(self, value: timedelta) -> str:
        total = int(value.total_seconds())
        hours, rest = divmod(abs(total), 3600)
        minutes, seconds = divmod(rest, 60)
        parts = [self.hours.format(n=hours)] if hours else []
        if minutes:
            parts.append(self.minutes.format(n=minutes))
        if seconds:
            parts.append(self.seconds.format(n=seconds))
        text = self.duration_separator.join(parts) if parts else self.duration_zero
        return f"-{text}" if total < 0 else text

    def join(self, items: list[str]) -> str:
        if len(items) <= 1:
            return "".join(items)
        return self.list_separator.join(items[:-1]) + self.list_last_separator + items[-1]


def load_sla_texts(path: Path | None = None) -> SlaTexts:
    """Load (and validate) the explanation texts; the packaged file by default. Cached per path."""
    return _load_texts(path or DEFAULT_TEXTS_FILE)


@lru_cache(maxsize=8)
def _load_texts(path: Path) -> SlaTexts:
    data = _read_yaml(path)
    try:
        return SlaTexts.model_validate(data)
    except ValidationError as exc:
        raise ConfigurationError(f"{path.name}: {_problems(exc)}") from None


# ------------------------------------------------------------------------------------------- calendar


@dataclass(frozen=True, slots=True)
class DayInfo:
    """Why a local date is (not) a working day; `name` is the holiday / 调休 / override name."""

    day: date
    working: bool
    reason: DayReason
    name: str | None = None


class BusinessCalendar:
    """Business-time arithmetic over one `CalendarConfig`. Thread-safe; caches per-day windows."""

    def __init__(self, config: CalendarConfig, texts: SlaTexts | None = None) -> None:
        self.config = config
        self.tz = ZoneInfo(config.timezone)
        self._texts = texts
        self._extra_holidays = {o.date: o for o in config.extra_holidays}
        self._extra_workdays = {o.date: o for o in config.extra_workdays}
        self._weekday_windows = {
            day: [self._window_times(w) for w in config.windows_by_weekday.get(day, config.windows)]
            for day in range(1, 8)
        }
        self._makeup_windows = [self._window_times(w) for w in config.windows]
        self._days: dict[date, tuple[Interval, ...]] = {}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], texts: SlaTexts | None = None) -> BusinessCalendar:
        try:
            return cls(CalendarConfig.model_validate(data), texts)
        except ValidationError as exc:
            raise ConfigurationError(f"calendar: {_problems(exc)}") from None

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def texts(self) -> SlaTexts:
        return self._texts or load_sla_texts()

    # ---- days

    def day_info(self, day: date) -> DayInfo:
        """Classify a local date. Raises ConfigurationError for a year without holiday data."""
        if day in self._extra_holidays:
            return DayInfo(day, False, "extra_holiday", self._extra_holidays[day].name)
        if day in self._extra_workdays:
            return DayInfo(day, True, "extra_workday", self._extra_workdays[day].name)
        if self.config.chinese_holidays and day.year not in self.config.override_years:
            statutory = self._statutory(day)
            if statutory is not None:
                return statutory
        working = day.isoweekday() in self.config.weekdays
        if working:
            return DayInfo(day, True, "workday")
        return DayInfo(day, False, "weekend" if day.isoweekday() >= 6 else "rest_day")

    def is_workday(self, day: date) -> bool:
        return self.config.always_on or self.day_info(day).working

    def _statutory(self, day: date) -> DayInfo | None:
        try:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            if self.config.unknown_year_policy == "weekdays":
                return None
            low, high = CHINESE_CALENDAR_YEARS
            raise ConfigurationError(
                f"calendar {self.name!r}: no holiday data for {day.year} (chinesecalendar covers "
                f"{low}–{high}); list the year's holidays and 调休 workdays in extra_holidays / "
                f"extra_workdays and add {day.year} to override_years, or set unknown_year_policy: weekdays"
            ) from None
        if name is None:
            return None
        if on_holiday:
            return DayInfo(day, False, "holiday", name)
        return DayInfo(day, True, "makeup_workday", name)

    def _window_times(self, window: WorkWindow) -> tuple[time, int]:
        start = window.start_minute
        return time(start // 60, start % 60), window.end_minute

    def day_intervals(self, day: date) -> tuple[Interval, ...]:
        """The working intervals of a local date, in UTC, ordered; empty on a non-working day."""
        cached = self._days.get(day)
        if cached is not None:
            return cached
        info = self.day_info(day)
        if not info.working:
            result: tuple[Interval, ...] = ()
        else:
            makeup = info.reason in ("makeup_workday", "extra_workday")
            windows = self._makeup_windows if makeup else self._weekday_windows[day.isoweekday()]
            result = tuple(iv for iv in (self._interval(day, w) for w in windows) if iv[1] > iv[0])
        if len(self._days) > 20_000:
            self._days.clear()
        self._days[day] = result
        return result

    def _interval(self, day: date, window: tuple[time, int]) -> Interval:
        start_time, end_minute = window
        start = datetime.combine(day, start_time, tzinfo=self.tz)
        if end_minute == 24 * 60:
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        else:
            end = datetime.combine(day, time(end_minute // 60, end_minute % 60), tzinfo=self.tz)
        return start.astimezone(UTC), end.astimezone(UTC)

    def working_intervals(self, start: datetime, end: datetime | None = None) -> Iterator[Interval]:
        """Working intervals (UTC) clipped to `[start, end)`; unbounded when `end` is None.

        With `end` given, no day after `end`'s local date is classified (so a range ending in the
        last covered year never asks about the next one).
        """
        begin = _utc(start, "start")
        stop = _utc(end, "end") if end is not None else None
        if self.config.always_on:
            if stop is None or stop > begin:
                yield begin, stop if stop is not None else datetime.max.replace(tzinfo=UTC)
            return
        day = begin.astimezone(self.tz).date()
        last_day = stop.astimezone(self.tz).date() if stop is not None else None
        idle = 0
        while last_day is None or day <= last_day:
            intervals = self.day_intervals(day)
            idle = 0 if intervals else idle + 1
            if idle > MAX_IDLE_DAYS:
                raise ConfigurationError(
                    f"calendar {self.name!r} has no working time in the {MAX_IDLE_DAYS} days before {day}"
                )
            for s, e in intervals:
                if stop is not None and s >= stop:
                    return
                if e > begin:
                    yield max(s, begin), e if stop is None else min(e, stop)
            day += timedelta(days=1)

    # ---- instants and durations

    def is_working_time(self, when: datetime) -> bool:
        at = _utc(when, "when")
        if self.config.always_on:
            return True
        return any(s <= at < e for s, e in self.day_intervals(at.astimezone(self.tz).date()))

    def next_working_instant(self, when: datetime) -> datetime:
        """`when` itself (in UTC) if it is working time, else the start of the next window."""
        for start, _ in self.working_intervals(when):
            return start
        raise AssertionError("unbounded interval iteration ended")  # pragma: no cover

    def add_business_time(self, start: datetime, duration: timedelta) -> datetime:
        """The UTC instant at which `duration` of working time has passed since `start`.

        A start outside working time counts from the next window; a zero duration yields
        `next_working_instant(start)`. Raises InvalidInput for a negative duration.
        """
        if duration < _ZERO:
            raise InvalidInput(f"duration must not be negative, got {duration}")
        begin = _utc(start, "start")
        if self.config.always_on:
            return begin + duration
        remaining = duration
        for s, e in self.working_intervals(begin):
            if remaining <= e - s:
                return s + remaining
            remaining -= e - s
        raise AssertionError("unbounded interval iteration ended")  # pragma: no cover

    def business_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in `[a, b)`; negative when `b` is before `a`."""
        first, second = _utc(a, "a"), _utc(b, "b")
        if second < first:
            return -self.business_time_between(second, first)
        if self.config.always_on:
            return second - first
        return sum((e - s for s, e in self.working_intervals(first, second)), _ZERO)

    # ---- explanations

    def explain_deadline(self, start: datetime, duration: timedelta) -> str:
        """Chinese 'why this deadline' for `add_business_time(start, duration)`."""
        return self.describe_deadline(start, self.add_business_time(start, duration), duration)

    def describe_deadline(
        self, start: datetime, deadline: datetime, counted: timedelta, *, paused: timedelta = _ZERO
    ) -> str:
        """Explain a deadline reached after `counted` working time from `start` (plus `paused` time)."""
        texts = self.texts
        begin, end = _utc(start, "start"), _utc(deadline, "deadline")
        if self.config.always_on:
            return self.describe_wall_deadline(begin, end, counted, paused=paused)
        text = texts.deadline_business.format(
            deadline=self.format_instant(end), start=self.format_instant(begin), duration=texts.duration(counted)
        )
        if not self.is_working_time(begin) and end > begin:
            first = self.next_working_instant(begin)
            text += texts.deferred_start.format(start=self.format_instant(begin), first=self.format_instant(first))
        skipped, makeup = self._span_days(begin, end)
        if skipped:
            text += texts.skipped.format(items=texts.join(skipped))
        if makeup:
            text += texts.makeup_workdays.format(dates=texts.join(makeup))
        if paused > _ZERO:
            text += texts.paused_extra.format(duration=texts.duration(paused))
        return text + self._tz_note()

    def describe_wall_deadline(
        self, start: datetime, deadline: datetime, counted: timedelta, *, paused: timedelta = _ZERO
    ) -> str:
        texts = self.texts
        text = texts.deadline_wall.format(
            deadline=self.format_instant(deadline),
            start=self.format_instant(start),
            duration=texts.duration(counted),
        )
        if paused > _ZERO:
            text += texts.paused_extra.format(duration=texts.duration(paused))
        return text + self._tz_note()

    def format_instant(self, when: datetime) -> str:
        local = _utc(when, "when").astimezone(self.tz)
        return self.texts.instant.format(
            year=local.year,
            month=local.month,
            day=local.day,
            weekday=self.texts.weekdays[local.weekday()],
            time=local.strftime("%H:%M"),
        )

    def _span_days(self, begin: datetime, end: datetime) -> tuple[list[str], list[str]]:
        texts = self.texts
        skipped: list[str] = []
        makeup: list[str] = []
        day, last = begin.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        while day <= last:
            info = self.day_info(day)
            label = self._skip_label(info)
            if label is not None and label not in skipped:
                skipped.append(label)
            if info.working and info.reason in ("makeup_workday", "extra_workday") and day.isoweekday() not in (
                self.config.weekdays
            ):
                makeup.append(texts.date.format(year=day.year, month=day.month, day=day.day,
                                                weekday=texts.weekdays[day.weekday()]))
            day += timedelta(days=1)
        return skipped, makeup

    def _skip_label(self, info: DayInfo) -> str | None:
        texts = self.texts
        if info.working:
            return None
        if info.reason == "holiday":
            return texts.holiday_names.get(info.name or "", info.name)
        if info.reason == "extra_holiday":
            return info.name or texts.company_holiday
        return texts.weekend if info.reason == "weekend" else texts.rest_day

    def _tz_note(self) -> str:
        if self.config.timezone in _CHINA_ZONES:
            return ""
        return self.texts.timezone_note.format(tz=self.config.timezone)


def _utc(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(f"{field} must be timezone-aware, got {value.isoformat()}", details={"field": field})
    return value.astimezone(UTC)


# ------------------------------------------------------------------------------------- calendar sets


class CalendarSet:
    """Named calendars plus a team → calendar map (`config/calendars.yaml`)."""

    def __init__(self, calendars: Mapping[str, BusinessCalendar], default: str, teams: Mapping[str, str]):
        if default not in calendars:
            raise ConfigurationError(f"default calendar {default!r} is not defined")
        unknown = {t: c for t, c in teams.items() if c not in calendars}
        if unknown:
            raise ConfigurationError(f"teams name undefined calendars: {unknown}")
        self._calendars = dict(calendars)
        self.default = default
        self.teams = dict(teams)

    @property
    def names(self) -> list[str]:
        return list(self._calendars)

    def get(self, name: str | None = None) -> BusinessCalendar:
        key = name or self.default
        try:
            return self._calendars[key]
        except KeyError:
            raise ConfigurationError(f"unknown calendar {key!r}; defined: {self.names}") from None

    def for_team(self, team: str | None) -> BusinessCalendar:
        """The team's calendar, else the default."""
        return self.get(self.teams.get(team or "", self.default))

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], *, source: str = "calendars", texts: SlaTexts | None = None
    ) -> CalendarSet:
        """Build from `{default, calendars: {name: {... extends: other}}, teams: {team: name}}`."""
        raw = data.get("calendars")
        if not isinstance(raw, Mapping) or not raw:
            raise ConfigurationError(f"{source}: calendars: a non-empty mapping of name → calendar is required")
        unknown_keys = set(data) - {"default", "calendars", "teams", "version"}
        if unknown_keys:
            raise ConfigurationError(f"{source}: unknown top-level keys {sorted(unknown_keys)}")
        calendars: dict[str, BusinessCalendar] = {}
        for name in raw:
            merged = _resolve_extends(raw, name, source)
            try:
                config = CalendarConfig.model_validate({**merged, "name": name})
            except ValidationError as exc:
                raise ConfigurationError(f"{source}: calendars.{name}: {_problems(exc)}") from None
            calendars[name] = BusinessCalendar(config, texts)
        teams = data.get("teams") or {}
        if not isinstance(teams, Mapping):
            raise ConfigurationError(f"{source}: teams: expected a mapping of team → calendar name")
        try:
            return cls(calendars, str(data.get("default", "default")), {str(k): str(v) for k, v in teams.items()})
        except ConfigurationError as exc:
            raise ConfigurationError(f"{source}: {exc.message}") from None


def _resolve_extends(raw: Mapping[str, Any], name: str, source: str) -> dict[str, Any]:
    """Merge a calendar over the chain of calendars it `extends` (child keys win; no cycles)."""
    chain: list[str] = []
    current: str | None = name
    merged: dict[str, Any] = {}
    while current is not None:
        if current in chain:
            raise ConfigurationError(f"{source}: calendars.{name}.extends: cycle {' → '.join([*chain, current])}")
        body = raw.get(current)
        if not isinstance(body, Mapping):
            field = f"calendars.{chain[-1]}.extends" if chain else f"calendars.{name}"
            raise ConfigurationError(f"{source}: {field}: unknown or malformed calendar {current!r}")
        chain.append(current)
        merged = {**{k: v for k, v in body.items() if k != "extends"}, **merged}
        parent = body.get("extends")
        current = str(parent) if parent is not None else None
    return merged


@lru_cache(maxsize=1)
def company_calendars() -> CalendarSet:
    """The packaged calendars.yaml, loaded once per container and shared by every feature."""
    return load_calendars()


def load_calendars(path: Path | None = None, *, texts: SlaTexts | None = None) -> CalendarSet:
    """Load `calendars.yaml` (the packaged one by default). Bad file → ConfigurationError naming it."""
    source = path or DEFAULT_CALENDARS_FILE
    return CalendarSet.from_mapping(_read_yaml(source), source=source.name, texts=texts)


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigurationError(f"{path.name}: cannot read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigurationError(f"{path.name}:{where} invalid YAML") from None


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
    )
