"""POST /progress + the hourly progress schedule (alarm hysteresis), POST /reports + missing reports."""

from __future__ import annotations

from tests.integration.digests.support import shanghai, start_report_tracking


def _texts(app, needle: str) -> list[dict]:
    return [m for m in app.messages() if needle in (m.get("content") or "")]


def _report_progress(app, clock, when: str, actual: int) -> dict:
    clock.set(shanghai(when))
    status, body = app.http("POST", "/progress", {"actuals": [{"order_id": "O-1", "actual_qty": actual}]})
    assert status == 201, body
    return app.stack.fire("production-progress-hourly")


def test_given_an_order_behind_plan_when_it_recovers_through_the_band_then_one_alarm_and_one_recovery(
        local_app, clock):
    clock.set(shanghai("2025-10-09 08:00"))
    plan = {"order_id": "O-1", "product": "电机外壳", "total_qty": 1300,
            "start": "2025-10-09T08:00:00+08:00", "end": "2025-10-09T21:00:00+08:00"}  # 100 per hour
    status, body = local_app.http("POST", "/progress", {"plans": [plan]})
    assert status == 201 and body["plans"] == 1

    _report_progress(local_app, clock, "2025-10-09 10:00", 200)   # on plan
    assert _texts(local_app, "生产进度告警") == []
    _report_progress(local_app, clock, "2025-10-09 11:00", 240)   # 20 % behind: alarm
    alarms = _texts(local_app, "生产进度告警")
    assert len(alarms) == 1 and "落后 20.0%" in alarms[0]["content"]
    assert alarms[0]["recipients"]["userids"] == ["gaofeng"]
    _report_progress(local_app, clock, "2025-10-09 12:00", 370)   # 7.5 % behind: inside the band, quiet
    assert len(_texts(local_app, "生产进度告警")) == 1 and _texts(local_app, "已恢复") == []
    _report_progress(local_app, clock, "2025-10-09 13:00", 480)   # 4 % behind: recovered
    assert len(_texts(local_app, "生产进度已恢复")) == 1

    tables = _texts(local_app, "### 生产进度（")
    assert len(tables) == 4  # one hourly table per run


def test_given_an_actual_for_an_unknown_order_when_posted_then_400_names_the_field(local_app, clock):
    status, body = local_app.http("POST", "/progress", {"actuals": [{"order_id": "nope", "actual_qty": 3}]})

    assert status == 400
    assert "actuals[0].order_id" in body["error"]["message"]


def test_given_missing_daily_reports_when_the_reminder_runs_then_streaks_count_only_workdays(local_app, clock):
    from wecom_oa import wiring

    start_report_tracking(local_app, clock)
    clock.set(shanghai("2025-10-14 20:00"))
    everyone = wiring.directory().department_members(1)
    reports = [{"userid": u, "date": "2025-10-14"} for u in everyone if u not in ("zhangsan", "lisi")]
    reports += [{"userid": "zhangsan", "date": "2025-10-09"}, {"userid": "lisi", "date": "2025-10-13"}]
    status, body = local_app.http("POST", "/reports", {"reports": reports})
    assert status == 201 and body["stored"] == len(reports)
    clock.set(shanghai("2025-10-15 09:30"))

    result = local_app.stack.fire("missing-reports-daily")

    assert result["status"] == "done"
    reminders = _texts(local_app, "未提交日报（")
    assert [m["recipients"]["userids"] for m in reminders] == [["zhangsan"]]
    # 10-10 Fri, 10-11 调休 Saturday, 10-13 Mon, 10-14 Tue; the Sunday 10-12 does not count
    assert "连续 4 个工作日" in reminders[0]["content"] and "10-11" in reminders[0]["content"]
    assert "10-12" not in reminders[0]["content"]
    notes = _texts(local_app, "连续多个工作日未提交日报")
    assert [m["recipients"]["userids"] for m in notes] == [["lina"]]


def test_given_a_sunday_report_after_workday_reports_when_the_reminder_runs_then_no_reminder(local_app, clock):
    from wecom_oa import wiring

    clock.set(shanghai("2025-10-20 20:00"))
    everyone = wiring.directory().department_members(1)
    reports = [{"userid": u, "date": "2025-10-20"} for u in everyone if u != "zhangsan"]
    # zhangsan reported Thu 10-16 and Fri 10-17, then once on Sunday 10-19 (not a workday), not on Mon 10-20
    reports += [{"userid": "zhangsan", "date": d} for d in ("2025-10-16", "2025-10-17", "2025-10-19")]
    assert local_app.http("POST", "/reports", {"reports": reports})[0] == 201
    clock.set(shanghai("2025-10-21 09:30"))

    local_app.stack.fire("missing-reports-daily")

    # only Mon 10-20 is missing: the Sunday report must not hide the Friday one
    assert _texts(local_app, "未提交日报（") == []
