"""Missing daily reports fed by WeCom 汇报 journals (sandbox) as well as POST /reports.

Calendar (default): 10-10 Fri, 10-11 调休 Saturday, 10-13 Mon, 10-14 Tue are workdays, 10-12 Sun is
not. The 09:30 run on Wed 10-15 decides on the three workdays before it: 10-11, 10-13, 10-14.
"""

from __future__ import annotations

from datetime import date, timedelta

from tests.integration.digests.support import shanghai, start_report_tracking

LIST = "oa/journal/get_record_list"
SUBJECTS = ("zhangsan", "lisi")


def _reminded(app) -> list[str]:
    return [u for m in app.messages() if "未提交日报（" in (m.get("content") or "")
            for u in m["recipients"]["userids"]]


def _everyone_else_reported(app, clock) -> None:
    """Everyone but the subjects posted a report for 10-14; zhangsan's last POSTed one is 10-09."""
    from wecom_oa import wiring

    start_report_tracking(app, clock)
    clock.set(shanghai("2025-10-14 20:00"))
    everyone = wiring.directory().department_members(1)
    reports = [{"userid": u, "date": "2025-10-14"} for u in everyone if u not in SUBJECTS]
    reports.append({"userid": "zhangsan", "date": "2025-10-09"})
    status, body = app.http("POST", "/reports", {"reports": reports})
    assert status == 201, body


def _run_calls(app) -> list[dict]:
    """Journal list calls of the 10-15 run (the tracking run of 09-01 made its own)."""
    after = int(shanghai("2025-10-01 00:00").timestamp())
    return [c for c in app.sandbox.calls() if c["path"] == LIST and c["body"]["endtime"] > after]


def _fire(app, clock) -> dict:
    clock.set(shanghai("2025-10-15 09:30"))
    return app.stack.fire("missing-reports-daily")


def test_given_a_daily_report_journal_on_one_of_the_workdays_when_the_reminder_runs_then_that_user_is_spared(
        local_app, clock):
    _everyone_else_reported(local_app, clock)
    local_app.sandbox.submit_journal("lisi", "日报", shanghai("2025-10-13 18:30"))
    local_app.sandbox.submit_journal("zhangsan", "周报", shanghai("2025-10-14 19:00"))  # not a daily report

    result = _fire(local_app, clock)

    assert result["status"] == "done"
    assert _reminded(local_app) == ["zhangsan"]
    from wecom_oa.aws.dynamo import app_table
    from wecom_oa.digests.store import ReportStore

    store = ReportStore(app_table())
    assert store.dates_on_or_before("lisi", date(2025, 10, 14), limit=1) == [date(2025, 10, 13)]
    assert store.dates_on_or_before("zhangsan", date(2025, 10, 14), limit=1) == [date(2025, 10, 9)]


def test_given_no_report_of_any_kind_for_three_workdays_when_the_reminder_runs_then_both_are_reminded(
        local_app, clock):
    _everyone_else_reported(local_app, clock)

    _fire(local_app, clock)

    assert sorted(_reminded(local_app)) == sorted(SUBJECTS)
    windows = [c["body"] for c in _run_calls(local_app)]
    # only the journals that can decide the streaks: from the oldest of the three workdays on
    assert windows and windows[0]["starttime"] == int(shanghai("2025-10-11 00:00").timestamp())
    assert windows[-1]["endtime"] == int(shanghai("2025-10-15 09:30").timestamp())


def test_given_the_same_journal_imported_twice_when_stored_then_one_report_per_user_and_day(local_app, clock):
    from wecom_oa.aws.dynamo import app_table
    from wecom_oa.digests import service as digests

    local_app.sandbox.submit_journal("lisi", "日报", shanghai("2025-10-13 09:00"))
    local_app.sandbox.submit_journal("lisi", "日报", shanghai("2025-10-13 21:00"))  # a second one that day
    clock.set(shanghai("2025-10-15 09:30"))
    spec = digests.digest_config().schedule("missing-reports-daily")
    calendar = digests.calendars().get(spec.calendar)

    first = digests.import_journals(spec, clock.now(), calendar, digests.digest_config().reports)
    again = digests.import_journals(spec, clock.now(), calendar, digests.digest_config().reports)

    assert (first, again) == (2, 2)
    items = list(app_table().query("REPORTS#lisi"))
    assert [(i["date"], i["source"]) for i in items] == [("2025-10-13", "wecom")]


def test_given_more_than_a_page_of_journals_when_imported_then_every_page_is_read(local_app, clock):
    _everyone_else_reported(local_app, clock)
    noise_at = shanghai("2025-10-13 08:00")
    for i in range(105):  # weekly reports fill the first page
        local_app.sandbox.submit_journal("wangwu", "周报", noise_at + timedelta(seconds=i))
    local_app.sandbox.submit_journal("lisi", "日报", shanghai("2025-10-14 18:00"))  # the last one listed

    _fire(local_app, clock)

    assert _reminded(local_app) == ["zhangsan"]
    cursors = [c["body"]["cursor"] for c in _run_calls(local_app)]
    assert cursors == [0, 100]


def test_given_the_app_lacks_the_journal_permission_when_the_reminder_runs_then_it_uses_posted_reports(
        local_app, clock, caplog, capsys):
    _everyone_else_reported(local_app, clock)
    local_app.sandbox.submit_journal("lisi", "日报", shanghai("2025-10-14 18:00"))
    local_app.sandbox.set_journal_permission(False)

    result = _fire(local_app, clock)

    assert result["status"] == "done"
    assert sorted(_reminded(local_app)) == sorted(SUBJECTS)  # lisi's journal could not be read
    warnings = [r for r in caplog.records if r.levelname == "WARNING" and "journal import failed" in r.getMessage()]
    assert [(r.error, r.errcode) for r in warnings] == [("ApiForbidden", 48002)]
    assert "可调用接口的应用" in warnings[0].hint
    assert '"JournalImportFailed":[1.0]' in capsys.readouterr().out
