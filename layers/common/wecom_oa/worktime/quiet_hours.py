"""The company's quiet hours (config/quiet_hours.yaml) with its calendar, for services that hold
messages that can wait."""

from __future__ import annotations

from datetime import datetime

from wecom_oa.settings import get_settings
from wecom_oa.worktime.quiet import QuietHours, load_quiet_hours


def policy() -> QuietHours:
    return load_quiet_hours(get_settings().config_dir / "quiet_hours.yaml")


def held_until(now: datetime, priority: str | None = None) -> datetime | None:
    """When a non-critical message due at `now` may go out (None: now)."""
    from wecom_oa.worktime.calendar import company_calendars as calendars

    q = policy()
    if q.is_critical(priority):
        return None
    return q.until(now, calendars().get(q.calendar))
