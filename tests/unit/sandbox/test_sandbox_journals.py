"""Journals (汇报): oa/journal/get_record_list and get_record_detail, the submit hook, the permission switch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from local.sandbox.journals import submit_request, template_id_for
from wecom_oa.errors import InvalidInput, NotFound

LIST, DETAIL = "oa/journal/get_record_list", "oa/journal/get_record_detail"


def _window(clock, before=3600, after=3600, **extra):
    now = int(clock.now().timestamp())
    return {"starttime": now - before, "endtime": now + after, "cursor": 0, "limit": 100, **extra}


def test_given_a_submitted_daily_report_when_listed_and_fetched_then_wecom_shapes(sandbox, api, clock):
    submitted = sandbox.submit_journal("dev1", "日报", text="修复登录问题")

    listed = api.post(LIST, _window(clock))
    info = api.post(DETAIL, {"journaluuid": listed["journaluuid_list"][0]})["info"]

    assert listed["errcode"] == 0 and listed["journaluuid_list"] == [submitted["journal_uuid"]]
    assert (listed["next_cursor"], listed["endflag"]) == (1, 1)
    assert info == submitted
    assert info["template_name"] == "日报" and info["template_id"] == template_id_for("日报")
    assert info["report_time"] == int(clock.now().timestamp())
    assert info["submitter"] == {"userid": "dev1"}
    assert info["receivers"] == [{"userid": "lead"}]  # the level-1 leader
    assert info["apply_data"]["contents"][0]["value"]["text"] == "修复登录问题"


def test_given_more_journals_than_a_page_when_listed_then_cursor_pages_in_report_time_order(sandbox, api, clock):
    uuids = []
    for i in range(7):
        uuids.append(sandbox.submit_journal("dev2", "日报", clock.now() - timedelta(minutes=10 - i))["journal_uuid"])

    pages, cursor = [], 0
    while True:
        page = api.post(LIST, _window(clock, cursor=cursor, limit=3))
        pages.append(page["journaluuid_list"])
        if page["endflag"] == 1:
            break
        cursor = page["next_cursor"]

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [u for p in pages for u in p] == uuids


def test_given_filters_when_listed_then_creator_department_and_template_narrow_the_list(sandbox, api, clock):
    daily_dev1 = sandbox.submit_journal("dev1", "日报")["journal_uuid"]
    weekly_dev1 = sandbox.submit_journal("dev1", "周报")["journal_uuid"]
    daily_cfo = sandbox.submit_journal("cfo", "日报")["journal_uuid"]

    def listed(*filters):
        return set(api.post(LIST, _window(clock, filters=[{"key": k, "value": v} for k, v in filters]))[
            "journaluuid_list"])

    assert listed(("creator", "dev1")) == {daily_dev1, weekly_dev1}
    assert listed(("template_id", template_id_for("日报"))) == {daily_dev1, daily_cfo}
    assert listed(("department", "2")) == {daily_cfo}  # cfo is also in 研发部 (2); dev1 only in 3
    assert listed(("creator", "dev1"), ("template_id", template_id_for("周报"))) == {weekly_dev1}
    assert listed(("creator", "dev1"), ("creator", "cfo"), ("template_id", template_id_for("日报"))) == {
        daily_dev1, daily_cfo}


@pytest.mark.parametrize("change", [
    {"endtime": -1},                      # before starttime
    {"after": 32 * 86400},                # window over a month
    {"limit": 101},
    {"limit": 0},
    {"cursor": "x"},
    {"filters": [{"key": "sp_status", "value": "1"}]},
])
def test_given_parameters_wecom_rejects_when_listing_then_errcode_40058(api, clock, change):
    body = _window(clock, after=change.pop("after", 3600))
    if change.get("endtime") == -1:
        change["endtime"] = body["starttime"] - 1
    body.update(change)

    assert api.post(LIST, body)["errcode"] == 40058


def test_given_an_unknown_journal_uuid_when_fetched_then_errcode_40058(api):
    answer = api.post(DETAIL, {"journaluuid": "no-such-journal"})

    assert answer["errcode"] == 40058 and "journaluuid" in answer["errmsg"]


def test_given_the_permission_withdrawn_when_calling_journal_apis_then_48002_until_granted(sandbox, api, clock):
    uuid = sandbox.submit_journal("dev1")["journal_uuid"]
    sandbox.set_journal_permission(False)

    assert api.post(LIST, _window(clock))["errcode"] == 48002
    assert api.post(DETAIL, {"journaluuid": uuid})["errcode"] == 48002
    sandbox.set_journal_permission(True)
    assert api.post(LIST, _window(clock))["journaluuid_list"] == [uuid]


def test_given_an_inactive_or_unknown_member_when_submitting_then_not_found(sandbox):
    for userid in ("gone", "nobody"):
        with pytest.raises(NotFound):
            sandbox.submit_journal(userid)


def test_given_a_local_server_body_when_parsed_then_date_backdates_to_1800_china_time():
    args = submit_request({"userid": "dev1", "date": "2026-03-02", "template_name": "周报"})

    assert args["userid"] == "dev1" and args["template_name"] == "周报"
    assert args["report_time"].isoformat() == "2026-03-02T18:00:00+08:00"
    assert "report_time" not in submit_request({"userid": "dev1"})  # now, on the sandbox clock


@pytest.mark.parametrize(("body", "field"), [({}, "userid"), ({"userid": "dev1", "date": "3/2"}, "date")])
def test_given_a_bad_local_server_body_when_parsed_then_invalid_input_names_the_field(body, field):
    with pytest.raises(InvalidInput) as raised:
        submit_request(body)

    assert raised.value.details == {"field": field}
