"""The leave ledger: approved leave of our own approval channel, until WeCom knows about it.

A leave approved through `POST /approvals` (channel `default`) is decided here, not in WeCom 审批, so
WeCom's vacation quota does not move. Each such approval is booked once in the applicant's ledger
(`LEAVE#<userid>`), and:
- the leave-balance pre-check subtracts the booked days of the type from WeCom's quota, so the next
  request is checked against what is really left (`booked_days`);
- missing daily reports do not count the booked days (`days_on_leave`);
- a revocation marks the booking `revoked`, which gives the days back.

Forms decided in WeCom (channel `wecom`, native forms) move WeCom's own quota and are not booked.
Bookings count in the calendar year of their first day (WeCom quotas are yearly).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import get_clock
from wecom_oa.errors import AlreadyExists
from wecom_oa.observability import logger

LEAVE_TYPE = "leave"


def _leave(approval: Mapping[str, Any]) -> dict[str, Any] | None:
    form = approval.get("form") if isinstance(approval.get("form"), Mapping) else None
    if approval.get("type") != LEAVE_TYPE or not form or not form.get("leave_type") or not form.get("start"):
        return None
    return dict(form)


def book_approved(approval: Mapping[str, Any]) -> bool:
    """Book an approved leave once (a retry or a second finalize books nothing). True when booked now."""
    form = _leave(approval)
    if form is None:
        return False
    item = {**Keys.leave_booking(str(approval["applicant"]), str(form["start"]), str(approval["id"])),
            "approval_id": approval["id"], "leave_type": form["leave_type"], "start": str(form["start"]),
            "end": str(form.get("end") or form["start"]), "days": Decimal(str(form.get("days") or 0)),
            "status": "approved", "booked_at": get_clock().now().isoformat()}
    try:
        app_table().put_new(item)
    except AlreadyExists:
        return False
    logger.info("leave booked", extra={"approval_id": approval["id"], "days": str(item["days"])})
    return True


def give_back(approval: Mapping[str, Any]) -> None:
    """A revoked approval's booking no longer counts (idempotent; nothing when it was never booked)."""
    form = _leave(approval)
    if form is None:
        return
    key = Keys.leave_booking(str(approval["applicant"]), str(form["start"]), str(approval["id"]))
    app_table().update(key, set_fields={"status": "revoked", "revoked_at": get_clock().now().isoformat()},
                       must_exist=False, condition="attribute_exists(pk)")


def _bookings(userid: str) -> list[dict[str, Any]]:
    return [b for b in app_table().query(f"LEAVE#{userid}") if b.get("status") == "approved"]


def booked_days(userid: str, now: datetime | None = None) -> dict[str, Decimal]:
    """Days per leave type booked here this calendar year (not yet in WeCom's quota)."""
    year = (now or get_clock().now()).year
    out: dict[str, Decimal] = {}
    for b in _bookings(userid):
        if date.fromisoformat(b["start"][:10]).year == year:
            out[b["leave_type"]] = out.get(b["leave_type"], Decimal(0)) + Decimal(str(b["days"]))
    return out


def days_on_leave(userid: str, first: date, last: date) -> set[date]:
    """Local dates between `first` and `last` covered by an approved leave of the ledger."""
    covered: set[date] = set()
    for b in _bookings(userid):
        start, end = date.fromisoformat(b["start"][:10]), date.fromisoformat(b["end"][:10])
        day = max(start, first)
        while day <= min(end, last):
            covered.add(day)
            day += timedelta(days=1)
    return covered
