"""The clock port: all code reads time through `get_clock()`, so timers, SLA clocks and digests agree.

- `SystemClock`: real UTC time (Lambda).
- `VirtualClock`: local mode. Starts at `LOCAL_CLOCK_START` and runs `1 / LOCAL_TIME_SCALE` times
  faster than real time (scale 0.001: one virtual hour passes in 3.6 real seconds). The local
  runner's moto patch scales Step Functions Wait states and retry intervals with the same clock.
- `ManualClock`: tests; time moves only when told to.

Every `now()` is timezone-aware UTC.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    scale = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def real_seconds(self, seconds: float) -> float:
        return max(0.0, seconds)


class VirtualClock:
    def __init__(self, start: datetime | None = None, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale
        self._start = (start or datetime.now(UTC)).astimezone(UTC)
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        elapsed = (time.monotonic() - self._t0) / self.scale
        return self._start + timedelta(seconds=elapsed)

    def real_seconds(self, seconds: float) -> float:
        """Real seconds that `seconds` of virtual time take."""
        return max(0.0, seconds) * self.scale

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds * self.scale)


class ManualClock:
    scale = 1.0

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | float) -> datetime:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when.astimezone(UTC)

    def real_seconds(self, seconds: float) -> float:
        return 0.0

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)


_clock: Clock | None = None
_clock_lock = threading.Lock()


def get_clock() -> Clock:
    """The process clock: virtual in local mode when a start or scale is configured, else real."""
    global _clock
    if _clock is None:
        with _clock_lock:
            if _clock is None:
                from wecom_oa.settings import get_settings

                s = get_settings()
                if s.local_mode and (s.local_clock_start is not None or s.local_time_scale != 1.0):
                    _clock = VirtualClock(s.local_clock_start, s.local_time_scale)
                else:
                    _clock = SystemClock()
    return _clock


def set_clock(clock: Clock | None) -> None:
    """Install a clock (tests, the local runner); None goes back to the configured one."""
    global _clock
    with _clock_lock:
        _clock = clock


def utc_iso(when: datetime) -> str:
    """ISO-8601 UTC with a `Z`, the only timestamp form Step Functions Wait states accept here."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def company_stamp(when: datetime) -> str:
    """`YYYYMMDD` of `when` in the company's timezone (OA_TIMEZONE), so ids carry the date people
    see: a ticket opened at 07:00 in Shanghai is dated that day, not the previous UTC day."""
    return when.astimezone(company_tz()).strftime("%Y%m%d")


# An ISO 8601 date-time with a time and an offset (`Z` or ±hh:mm), the whole string: what
# `company_iso` renders in the company's offset. Dates, times without an offset and free text
# (a timestamp inside a sentence) do not match.
_ISO_WITH_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})")


def company_tz() -> ZoneInfo:
    """The company's timezone (OA_TIMEZONE, default Asia/Shanghai)."""
    from wecom_oa.settings import get_settings

    return ZoneInfo(get_settings().default_timezone)


def company_iso(value: datetime | str | None) -> str | None:
    """THE rendering of a timestamp in an API answer: ISO 8601 to the second with the company's
    offset (`2026-12-04T18:00:00+08:00` in Asia/Shanghai), whatever offset it was stored with.
    Accepts an aware datetime or its ISO text; None stays None. Stored items, Step Functions inputs
    and cursors keep UTC (`utc_iso`); only answers use this form."""
    if value is None:
        return None
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    if when.tzinfo is None:
        raise ValueError(f"timestamp without an offset: {value!r}")
    return when.astimezone(company_tz()).isoformat(timespec="seconds")


def company_times(value: Any) -> Any:
    """`value` (a JSON-ready answer) with every string that is a whole ISO 8601 date-time with an
    offset rendered by `company_iso`, in nested objects and arrays too (iterative: answers are
    bounded, but nothing here recurses). Other values are returned as they are."""
    tz = company_tz()

    def convert(v: Any) -> Any:
        if isinstance(v, str) and _ISO_WITH_OFFSET.fullmatch(v):
            try:
                return datetime.fromisoformat(v).astimezone(tz).isoformat(timespec="seconds")
            except ValueError:  # 2026-02-30T…: not a time, leave the text as it is
                return v
        if isinstance(v, datetime) and v.tzinfo is not None:
            return v.astimezone(tz).isoformat(timespec="seconds")
        return v

    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        parent, key = stack.pop()
        node = convert(parent[key])
        if isinstance(node, dict):
            node = dict(node)
            stack.extend((node, k) for k in node)
        elif isinstance(node, list | tuple):
            node = list(node)
            stack.extend((node, i) for i in range(len(node)))
        parent[key] = node
    return root[0]
