"""The digests and notices of the 劳动节 week of 2026 (Mon 05-04, Tue 05-05 holidays; Sat 05-09 a
调休 workday; Sun 05-10 off), driven through the API: each group's 18:00 summary on every workday and
on no other day, the hourly production progress with one alarm and one recovery, and a notice with
its default deadline, nudges and leader notes never at night, and a summarised final report."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

WORKDAYS = ["2026-05-06", "2026-05-07", "2026-05-08", "2026-05-09"]


def _summary_days(company, robot: str, group_name: str) -> list[str]:
    return [e["local_time"] for e in company.robot(robot) if f"【{group_name}】今日待办汇总" in e["text"]]


def test_the_daily_summary_is_sent_on_every_workday_of_the_holiday_week(start_company) -> None:
    company = start_company("2026-05-04T09:00:00+08:00", robots=["project-group"])
    # a task that stays open all week, owned by 张三 in 技术服务项目组
    task = company.api("POST", "/tasks", {"title": "整理五月巡检报告", "owner": "zhangsan", "group": "service-desk",
                                          "due_at": "2026-05-08T18:00:00+08:00"}, expect=201)
    company.until("2026-05-10T20:00:00+08:00")
    days = _summary_days(company, "project-group", "技术服务项目组")
    assert days == [f"{d} 18:00" for d in WORKDAYS], days  # not on the holidays, not on Sunday
    friday = next(e["text"] for e in company.robot("project-group") if e["local_time"] == "2026-05-08 18:00"
                  and "技术服务项目组" in e["text"])
    assert "整理五月巡检报告" in friday and "未完成任务 1" in friday
    saturday = next(e["text"] for e in company.robot("project-group") if e["local_time"] == "2026-05-09 18:00"
                    and "技术服务项目组" in e["text"])
    assert "已超期" in saturday, saturday  # due Friday 18:00, still open on the 调休 Saturday
    assert task["id"] in saturday

    # an operator's manual run on Monday morning covers Monday, and the 18:00 run still sends
    company.until("2026-05-11T10:00:00+08:00")
    status, fired = company.call("POST", "/_sandbox/schedules/daily-summary/fire")
    assert status == 200 and fired["result"]["status"] == "done", fired
    company.until("2026-05-11T18:30:00+08:00")
    monday = [d for d in _summary_days(company, "project-group", "技术服务项目组") if d.startswith("2026-05-11")]
    assert monday == ["2026-05-11 10:00", "2026-05-11 18:00"], monday


def test_hourly_production_progress_alarms_once_and_recovers_once(start_company) -> None:
    company = start_company("2026-05-06T07:30:00+08:00", robots=["factory-group"])
    company.api("POST", "/progress", {"plans": [{
        "order_id": "PO-0506", "product": "电机外壳", "total_qty": 1300,
        "start": "2026-05-06T08:00:00+08:00", "end": "2026-05-06T21:00:00+08:00"}]}, expect=201)  # 100 an hour
    # on plan, then 20 % behind (alarm), still behind but not worse (no repeat), back within 5 % (recovered)
    for hour, actual in ((9, 100), (10, 200), (11, 240), (12, 330), (13, 480)):
        company.until(f"2026-05-06T{hour - 1:02d}:59:00+08:00")
        company.api("POST", "/progress", {"actuals": [{"order_id": "PO-0506", "actual_qty": actual}]}, expect=201)
    company.until("2026-05-06T13:30:00+08:00")
    posts = company.robot("factory-group")
    assert all("production-progress" not in e["text"] for e in posts), "the group is named, not the schedule"
    alarms = [e["local_time"] for e in posts if "生产进度告警" in e["text"]]
    recoveries = [e["local_time"] for e in posts if "生产进度已恢复" in e["text"]]
    assert alarms == ["2026-05-06 11:00"], [(e["local_time"], e["text"][:40]) for e in posts]
    assert len(recoveries) == 1 and recoveries[0] > alarms[0], recoveries


def test_a_notice_with_default_deadline_nudges_by_day_and_reports_to_its_sender(start_company) -> None:
    company = start_company("2026-05-08T19:30:00+08:00", people=["wangjianguo", "zhangsan", "lisi", "lina", "zhoujie"])
    notice = company.api("POST", "/notices", {"title": "五一节后安全生产通知", "content": "请各部门落实节后安全检查。",
                                              "sender": "wangjianguo", "toparty": [5]}, expect=201)
    got = company.api("GET", f"/notices/{notice['id']}", expect=200)
    # no deadline given on Friday evening: the next workday is the 调休 Saturday, due 18:00
    assert got["ack_deadline"].startswith("2026-05-09T18:00:00"), got
    card = company.card("zhangsan", "五一节后安全生产通知")
    assert "王建国" in card["text"]
    company.click("zhangsan", card["task_id"], card["keys"][0])
    company.until("2026-05-09T19:00:00+08:00")
    # nudges (due 21:30 Friday) and leader notes (23:30) waited for the morning
    nudges = [e for e in company.inbox("lisi") if "尚未确认通知" in e["text"]]
    assert nudges and all(e["local_time"] >= "2026-05-09 08:30" for e in nudges), nudges
    assert not [e for e in company.inbox("zhangsan") if "尚未确认通知" in e["text"]], "he acknowledged"
    notes = [e for e in company.inbox("lina") if "尚未确认" in e["text"] and "李四" in e["text"]]
    # the leader note keeps its 2 h distance from the (held) nudge: 10:30, not with it at 08:30
    assert [e["local_time"] for e in notes] == ["2026-05-09 10:30"], company.texts("lina")
    final = [e for e in company.inbox("wangjianguo") if "确认情况" in e["text"]]
    assert len(final) == 1 and final[0]["local_time"] == "2026-05-09 18:00", company.texts("wangjianguo")
    assert "确认率" in final[0]["text"]
