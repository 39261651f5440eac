"""Tickets as people meet them, over workdays of virtual time: a repair ticket nobody answers
escalates 1 h → supervisor and 3 h → regional director, and is a risk in every 18:00 summary of its
group, overdue from its breached deadline; a complaint's 24 h countdown warns and escalates."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

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
