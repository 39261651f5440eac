"""Tickets as people meet them, over workdays of virtual time: a repair ticket nobody answers
escalates 1 h → supervisor and 3 h → regional director, and is a risk in every 18:00 summary of its
group, overdue from its breached deadline; a complaint's 24 h countdown warns and escalates."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.slow

SHANGHAI = ZoneInfo("Asia/Shanghai")
REPAIR = {"type": "repair", "title": "3号产线包装机异响", "reporter": "chenjing", "priority": "P3",
          "fields": {"device_name": "包装机", "location": "一号厂房"}}


def _at(entries: list[dict], needle: str) -> list[str]:
    return [e["local_time"] for e in entries if needle in e["text"]]


def test_an_unanswered_repair_ticket_escalates_and_stays_a_risk_in_every_summary(start_company) -> None:
    # Wednesday 2026-05-06, the first workday after the 劳动节 holiday (Mon 4th and Tue 5th are off)
    company = start_company("2026-05-06T08:55:00+08:00", people=["chenjing", "zhangsan", "lina", "zhoujie"],
                            robots=["project-group"])
    company.until("2026-05-06T09:00:00+08:00")
    ticket = company.api("POST", "/tickets", REPAIR, expect=201)
    assert re.fullmatch(r"T20260506-\w+", ticket["id"]), "ids carry the company's (Shanghai) date"
    # the dispatcher of tech_support is told at once
    assert _at(company.inbox("zhangsan"), ticket["id"]) == ["2026-05-06 09:00"]

    company.until("2026-05-06T18:05:00+08:00")
    # 1 h of business time unanswered → the supervisor (李娜); 3 h → the regional director (周杰)
    assert _at(company.inbox("lina"), "工单升级 L1") [:1] == ["2026-05-06 10:00"]
    assert "2026-05-06 12:00" in _at(company.inbox("zhoujie"), "工单升级 L2")
    day1 = [e for e in company.robot("project-group") if e["local_time"] == "2026-05-06 18:00"]
    assert len(day1) == 1, company.robot("project-group")
    text = day1[0]["text"]
    assert "风险" in text and "3号产线包装机异响" in text
    # overdue from the breached first-response deadline (10:00), not from a timer wake-up
    assert "已超期 8小时" in text, text
    assert "未完成工单 1" in text

    company.until("2026-05-07T18:05:00+08:00")
    day2 = [e for e in company.robot("project-group") if e["local_time"] == "2026-05-07 18:00"]
    assert len(day2) == 1 and "3号产线包装机异响" in day2[0]["text"]
    assert "已超期 1天8小时" in day2[0]["text"], day2[0]["text"]


def _history(company, ticket_id: str) -> list[dict]:
    return company.api("GET", f"/tickets/{ticket_id}")["history"]


def test_people_are_named_timers_are_in_the_history_and_the_only_dispatcher_is_covered(start_company) -> None:
    company = start_company("2026-05-06T09:00:00+08:00", people=["chenjing", "zhangsan", "lina", "sunxiaomei"])
    # 张三 is tech_support's only dispatcher: a ticket he logs himself goes to the team's backup (李娜)
    own = company.api("POST", "/tickets", {**REPAIR, "title": "我的工位网线断了", "reporter": "zhangsan"}, expect=201)
    assert _at(company.inbox("lina"), own["id"]) == ["2026-05-06 09:00"]
    assert not _at(company.inbox("zhangsan"), own["id"])

    # 陈静's repair: 张三 accepts on the card; she reads his name, not his userid
    ticket = company.api("POST", "/tickets", REPAIR, expect=201)
    card = company.card("zhangsan", ticket["id"])
    company.click("zhangsan", card["task_id"], card["keys"][0])
    accepted = [t for t in company.texts("chenjing") if "工单已受理" in t and ticket["id"] in t]
    assert accepted and "张三" in accepted[0] and "zhangsan" not in accepted[0], accepted

    # the unanswered one escalates; the timer's notes are in its history with whom they reached
    company.until("2026-05-06T12:30:00+08:00")
    timer = [h for h in _history(company, own["id"]) if h["action"] == "sla"]
    levels = [(h["changes"]["sla"], h["changes"]["level"]) for h in timer]
    assert ("escalation", 1) in levels and ("escalation", 2) in levels, timer
    assert all(h["by"] == "system" and h["changes"]["notified"] for h in timer)


def test_a_customer_visible_complaint_counts_down_24_hours_and_keeps_the_reporter_informed(start_company) -> None:
    company = start_company("2026-05-06T10:00:00+08:00", people=["chenjing", "sunxiaomei", "lina", "wufang"])
    complaint = company.api("POST", "/tickets", {
        "type": "complaint", "title": "快递外箱破损", "reporter": "chenjing",
        "fields": {"severity": "minor", "description": "收到的货物外箱破损"}}, expect=201)
    card = company.card("sunxiaomei", complaint["id"])
    company.click("sunxiaomei", card["task_id"], card["keys"][0])
    company.api("POST", f"/tickets/{complaint['id']}/actions",
                {"action": "wait_customer", "by": "sunxiaomei", "comment": "请提供外箱照片"}, expect=200)
    company.api("POST", f"/tickets/{complaint['id']}/actions",
                {"action": "resume", "by": "sunxiaomei", "comment": "照片已收到"}, expect=200)
    # customer-visible: the reporter hears of the status change the handler's own message did not cover
    progress = [t for t in company.texts("chenjing") if "工单进度" in t and complaint["id"] in t]
    assert progress and "处理中" in progress[-1] and "孙小美" in progress[-1], company.texts("chenjing")

    # the 24 h wall-clock countdown: warnings wait for the morning, the breach at 10:00 the next day
    company.until("2026-05-07T10:30:00+08:00")
    warnings = [e for e in company.inbox("sunxiaomei") if "SLA 预警" in e["text"] and complaint["id"] in e["text"]]
    assert warnings, company.texts("sunxiaomei")
    assert all("08:30" <= e["local_time"][-5:] <= "21:00" for e in warnings), warnings  # never at night
    # the 50 % (22:00) and 80 % (05:12) warnings were both held: only the 80 % one is sent, at 08:30
    assert [(e["local_time"], "80%" in e["text"]) for e in warnings] == [("2026-05-07 08:30", True)], warnings
    escalated = [e for e in company.inbox("lina") if "工单升级 L1" in e["text"] and complaint["id"] in e["text"]]
    assert [e["local_time"] for e in escalated] == ["2026-05-07 10:00"], company.texts("lina")


def test_a_friday_evening_repair_escalates_on_monday_in_business_time(start_company) -> None:
    """Filed at 17:30 on a Friday: 30 business minutes that day, the weekend skipped, so the first
    response's 1 h → the supervisor at 09:30 on Monday and 3 h → the regional director at 11:30,
    each exactly once (on the stepped clock; the scaled-clock version was late under load)."""
    company = start_company("2026-11-20T17:30:00+08:00", people=["chenjing", "zhangsan", "lina", "zhoujie"])
    ticket = company.api("POST", "/tickets", REPAIR, expect=201)
    deadline = datetime.fromisoformat(ticket["sla"]["first_response"]["deadline"]).astimezone(SHANGHAI)
    assert deadline.strftime("%Y-%m-%d %H:%M") == "2026-11-23 09:30", "Monday, after the weekend"

    company.until("2026-11-23T18:00:00+08:00")

    def first_response(userid: str, level: str) -> list[str]:
        return [e["local_time"] for e in company.inbox(userid) if f"工单升级 {level}" in e["text"]
                and "首次响应" in e["text"]]

    assert first_response("lina", "L1") == ["2026-11-23 09:30"]
    assert first_response("zhoujie", "L2") == ["2026-11-23 11:30"]
    weekend = [e for u in ("lina", "zhoujie") for e in company.inbox(u)
               if "工单升级" in e["text"] and e["local_time"][:10] in ("2026-11-21", "2026-11-22")]
    assert weekend == [], "nobody is escalated to at the weekend"
