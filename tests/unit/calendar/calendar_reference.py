"""A slow, obviously-correct oracle for business time: walk UTC minute by minute.

Written from the calendar's specification, independently of `BusinessCalendar`'s interval code:
a UTC minute is working when its local wall time (in the calendar's timezone) lies in a window of a
working local date. Day rules read chinesecalendar's raw tables, not `get_holiday_detail`.
Valid for minute-aligned inputs and windows (which the configs guarantee). Also used by
bench/bench_business_time.py as the peer rate.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from chinese_calendar.constants import holidays as CC_HOLIDAYS
from chinese_calendar.constants import workdays as CC_WORKDAYS

from wecom_oa.worktime.calendar import CalendarConfig

MINUTE = timedelta(minutes=1)


class MinuteWalker:
    def __init__(self, config: CalendarConfig) -> None:
        self.config = config
        self.tz = ZoneInfo(config.timezone)
        self.extra_off = {o.date for o in config.extra_holidays}
        self.extra_on = {o.date for o in config.extra_workdays}
        self._minutes_of_day = lru_cache(maxsize=4096)(self._working_minutes)

    def _day_kind(self, d: date) -> tuple[bool, bool]:
        """(working, is_makeup)"""
        if d in self.extra_off:
            return False, False
        if d in self.extra_on:
            return True, True
        if self.config.chinese_holidays and d.year not in self.config.override_years:
            if d in CC_HOLIDAYS:
                return False, False
            if d in CC_WORKDAYS:
                return True, True
        return d.isoweekday() in self.config.weekdays, False

    def _working_minutes(self, d: date) -> frozenset[int]:
        working, makeup = self._day_kind(d)
        if not working:
            return frozenset()
        windows = self.config.windows if makeup else self.config.windows_by_weekday.get(
            d.isoweekday(), self.config.windows
        )
        return frozenset(m for w in windows for m in range(w.start_minute, w.end_minute))

    def is_working(self, minute: datetime) -> bool:
        if self.config.always_on:
            return True
        local = minute.astimezone(self.tz)
        return local.hour * 60 + local.minute in self._minutes_of_day(local.date())

    def add(self, start: datetime, duration: timedelta) -> datetime:
        t = start.astimezone(UTC)
        need = int(duration / MINUTE)
        if need == 0:
            while not self.is_working(t):
                t += MINUTE
            return t
        while True:
            if self.is_working(t):
                need -= 1
                if need == 0:
                    return t + MINUTE
            t += MINUTE

    def between(self, a: datetime, b: datetime) -> timedelta:
        t, end = a.astimezone(UTC), b.astimezone(UTC)
        count = 0
        while t < end:
            count += self.is_working(t)
            t += MINUTE
        return count * MINUTE
