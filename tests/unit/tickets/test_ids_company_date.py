"""Ids carry the company's date (Asia/Shanghai), not the UTC one."""

from __future__ import annotations

import re
from datetime import datetime

from wecom_oa.tasks.service import new_task_id
from wecom_oa.tickets.domain import new_ticket_id


def test_given_07_30_in_shanghai_when_an_id_is_made_then_it_carries_that_shanghai_date() -> None:
    early = datetime.fromisoformat("2026-05-06T07:30:00+08:00")  # still 2026-05-05 in UTC
    assert re.fullmatch(r"T20260506-[0-9A-F]{6}", new_ticket_id(early))
    assert new_task_id(early).startswith("TK20260506-")
