"""The complaint's 24-hour countdown runs on wall time, nights and weekends included: a complaint filed
at 23:00 on a Friday breaches at 23:00 on Saturday, and the handler's leader and the 客服主管 tag hear
of it then (critical: it is sent at night). Accepting the complaint stops the first-response clock,
not the countdown. On the stepped clock every timer fires at its own instant."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.slow
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_friday_night_complaint_escalates_24_wall_hours_later_at_night(start_company) -> None:
    company = start_company("2026-03-06T23:00:00+08:00", people=["chenjing", "sunxiaomei", "lina", "wufang"])
    ticket = company.api("POST", "/tickets", {
        "type": "complaint", "title": "快递外箱破损", "reporter": "chenjing",
        "fields": {"severity": "minor", "description": "收到的货物外箱破损"}}, expect=201)
    deadline = datetime.fromisoformat(ticket["sla"]["resolution"]["deadline"])
    assert deadline - datetime.fromisoformat(ticket["created_at"]) == timedelta(hours=24)

    company.until((deadline - timedelta(minutes=10)).isoformat())
    company.api("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "sunxiaomei"}, expect=200)
    company.until((deadline + timedelta(minutes=30)).isoformat())

    due = deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert due == "2026-03-07 23:00", "Saturday night, outside any business hours"
    for userid in ("lina", "wufang"):
        level1 = [e for e in company.inbox(userid) if "工单升级 L1" in e["text"] and ticket["id"] in e["text"]]
        assert [e["local_time"][:16] for e in level1] == [due], (userid, company.texts(userid))
        assert "解决" in level1[0]["text"] and "首次响应" not in level1[0]["text"]
    breach = [e for e in company.inbox("sunxiaomei") if "SLA 超时" in e["text"] and ticket["id"] in e["text"]]
    assert [e["local_time"][:16] for e in breach] == [due], company.texts("sunxiaomei")
    assert not [t for u in ("lina", "wufang", "sunxiaomei") for t in company.texts(u)
                if "工单升级" in t and "首次响应" in t], "accepting stopped the first-response clock"
