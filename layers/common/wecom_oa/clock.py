"""The clock port: all code reads time through `get_clock()`, so timers, SLA clocks and digests agree.

- `SystemClock`: real UTC time (Lambda).
- `VirtualClock`: local mode. Starts at `LOCAL_CLOCK_START` and runs `1 / LOCAL_TIME_SCALE` times
  faster than real time (scale 0.001: one virtual hour passes in 3.6 real seconds). The local
  runner's moto patch scales Step Functions Wait states and retry intervals with the same clock.
- `ManualClock`: tests; time moves only when told to.

Every `now()` is timezone-aware UTC.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


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
    from zoneinfo import ZoneInfo

    from wecom_oa.settings import get_settings

    return when.astimezone(ZoneInfo(get_settings().default_timezone)).strftime("%Y%m%d")
