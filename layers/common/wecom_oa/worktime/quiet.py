"""Quiet hours: when a message that can wait is held, and until when (config/quiet_hours.yaml).

`QuietHours.until(now, calendar)` is None when `now` is not quiet, else the instant the quiet time
ends: the `end` time of the next morning, or, with `quiet_non_workdays`, of the next workday.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Protocol
from zoneinfo import ZoneInfo

import yaml
from pydantic import ConfigDict, Field, ValidationError

from wecom_oa.errors import ConfigurationError
from wecom_oa.validation import Model


class Workdays(Protocol):
    def is_workday(self, day: object) -> bool: ...


class QuietHours(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "Asia/Shanghai"
    calendar: str | None = None
    start: time = time(21, 0)
    end: time = time(8, 30)
    quiet_non_workdays: bool = True
    critical_priorities: tuple[str, ...] = Field(default=("P1",))

    def until(self, now: datetime, calendar: Workdays | None = None) -> datetime | None:
        tz = ZoneInfo(self.timezone)
        local = now.astimezone(tz)
        day, clock = local.date(), local.time()
        overnight = self.start > self.end  # e.g. 21:00 → 08:30
        night = (clock >= self.start or clock < self.end) if overnight else (self.start <= clock < self.end)
        off = self.quiet_non_workdays and calendar is not None and not calendar.is_workday(day)
        if not night and not off:
            return None
        # the quiet time ends at `end` on the first day that is allowed (today if still before `end`)
        candidate = day if clock < self.end else day + timedelta(days=1)
        for _ in range(40):
            if not (self.quiet_non_workdays and calendar is not None and not calendar.is_workday(candidate)):
                return datetime.combine(candidate, self.end, tzinfo=tz)
            candidate += timedelta(days=1)
        return datetime.combine(candidate, self.end, tzinfo=tz)

    def is_critical(self, priority: str | None) -> bool:
        return priority is not None and priority in self.critical_priorities


@lru_cache(maxsize=4)
def load_quiet_hours(path: Path) -> QuietHours:
    if not path.exists():
        return QuietHours()
    try:
        return QuietHours.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigurationError(f"{path.name}: {problems}") from None
