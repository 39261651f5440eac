"""The 劳动节 week of 2026 (Mon 05-04 and Tue 05-05 are holidays, Sat 05-09 is a 调休 workday) on a
fresh deployment: missing-report reminders start from the first run, skip approved leave, remind at
the threshold and then at an interval, and tell the leader once per streak; an approved leave
reduces the balance the next request is checked against."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

SUBJECT = "zhangsan"  # never files a report
ON_LEAVE = "sunxiaomei"  # annual leave Thu 05-07 – Fri 05-08 (5 days of 年假 before it)


def _everyone(company) -> list[str]:
    status, members = company.call("GET", "/_sandbox/cgi-bin/user/list?department_id=1&fetch_child=1"
                                   f"&access_token={_token(company)}")
    assert status == 200, members
    return [m["userid"] for m in members["userlist"] if m["status"] == 1]  # active members


def _token(company) -> str:
    # the sandbox's own gettoken, with the shipped local credentials (a WeCom admin's view)
    from wecom_oa.settings import LOCAL_DEFAULTS

    status, body = company.call("GET", f"/_sandbox/cgi-bin/gettoken?corpid={LOCAL_DEFAULTS['WECOM_CORP_ID']}"
                                       f"&corpsecret={LOCAL_DEFAULTS['WECOM_SECRET']}")
    assert status == 200 and body.get("access_token"), body
    return body["access_token"]


def _leave(company, days: int, start: str, end: str) -> dict:
    status, body = company.call("POST", "/approvals", {
        "type": "leave", "applicant": ON_LEAVE,
        "form": {"leave_type": "annual", "start": start, "end": end, "days": days, "reason": "回老家"}})
    company.settle()
    return {**(body if isinstance(body, dict) else {}), "http": status}


def test_reports_reminders_and_leave_balance_over_the_labour_day_week(start_company) -> None:
    company = start_company("2026-05-04T09:00:00+08:00", people=[SUBJECT, ON_LEAVE, "lina", "zhoujie"])
    people = _everyone(company)
    reporters = [u for u in people if u not in (SUBJECT, ON_LEAVE)]

    # Wednesday: sunxiaomei asks for Thu–Fri off (2 days of her 5 days of 年假); 李娜 approves on the card
    company.until("2026-05-06T09:05:00+08:00")
    first = _leave(company, 2, "2026-05-07", "2026-05-08")
    assert first["http"] == 201, first
    card = company.card("lina", "年假")
    company.click("lina", card["task_id"], "approve")
    assert company.call("GET", f"/approvals/{first['id']}")[1]["status"] == "approved"

    # the first run after deployment (Wed 09:30; Mon and Tue are holidays) reminds nobody
    assert not any("未提交日报" in t for u in people for t in company.texts(u) if u in (SUBJECT, "lina"))

    # everyone but the two subjects files a 日报 every workday evening
    for day in ("2026-05-06", "2026-05-07", "2026-05-08"):
        company.until(f"{day}T19:00:00+08:00")
        for userid in reporters:
            company.journal(userid)
    # a 5-day annual leave now exceeds what is left (5 − 2 = 3 days): rejected at once, with only
    # types that cover 5 days suggested (事假; not 病假, not a too-small 调休)
    second = _leave(company, 5, "2026-05-18", "2026-05-22")
    assert second["http"] in (200, 201) and second.get("outcome") == "auto_reject", second
    rejection = [t for t in company.texts(ON_LEAVE) if "余额不足" in t][-1]
    assert "剩余 3 天" in rejection and "事假" in rejection and "病假" not in rejection, rejection

    # Saturday 05-09 (调休 workday) 09:30: zhangsan has missed Wed, Thu, Fri → one reminder, one note to 李娜
    company.until("2026-05-09T10:00:00+08:00")
    reminders = [t for t in company.texts(SUBJECT) if "未提交日报" in t]
    assert len(reminders) == 1 and "连续 3 个工作日" in reminders[0], reminders
    notes = [t for t in company.texts("lina") if "连续多个工作日未提交日报" in t]
    assert len(notes) == 1 and "张三" in notes[0] and "孙小美" not in notes[0], notes
    # sunxiaomei missed only Wednesday: her two days of leave do not count
    assert not [t for t in company.texts(ON_LEAVE) if "未提交日报" in t]

    company.until("2026-05-09T19:00:00+08:00")  # the 调休 Saturday is a workday: reports are due
    for userid in reporters:
        company.journal(userid)
    # Monday 05-11: a 4th missing workday is no new reminder (interval 3) and no second note to 李娜
    company.until("2026-05-11T10:00:00+08:00")
    assert len([t for t in company.texts(SUBJECT) if "未提交日报" in t]) == 1
    assert len([t for t in company.texts("lina") if "连续多个工作日未提交日报" in t]) == 1
    # and nobody who files reports was ever reminded
    assert not [u for u in reporters if any("您已连续" in t for t in company.texts(u))]
