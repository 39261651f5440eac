"""Approvals (oa/applyevent, getapprovaldetail, getapprovalinfo) and vacation quotas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wecom_oa.errors import Conflict, Forbidden, NotFound

EXPENSE = Path(__file__).resolve().parents[2] / "events" / "sandbox" / "applyevent_expense.json"


@pytest.fixture
def expense() -> dict:
    return json.loads(EXPENSE.read_text(encoding="utf-8"))


def _window(clock, before=3600, after=3600):
    now = int(clock.now().timestamp())
    return {"starttime": str(now - before), "endtime": str(now + after)}


def test_given_application_when_submitted_then_detail_round_trips(api, expense, clock):
    sp_no = api.post("oa/applyevent", expense)["sp_no"]

    info = api.post("oa/getapprovaldetail", {"sp_no": sp_no})["info"]

    assert sp_no == "202603020001"  # China date of the clock + sequence
    assert info["sp_name"] == "费用报销"
    assert info["sp_status"] == 1
    assert info["template_id"] == "tpl-expense"
    assert info["apply_time"] == int(clock.now().timestamp())
    assert info["applyer"] == {"userid": "dev1", "partyid": "3"}
    assert info["apply_data"] == expense["apply_data"]
    assert info["notifyer"] == [{"userid": "dev2"}]
    assert [(r["approverattr"], [d["approver"]["userid"] for d in r["details"]]) for r in info["sp_record"]] == [
        (1, ["cfo"]), (2, ["boss", "lead"])]
    assert all(d["sp_status"] == 1 and d["sptime"] == 0 for r in info["sp_record"] for d in r["details"])


def test_given_legacy_approver_list_when_submitted_then_nodes_follow_attr(api, expense):
    del expense["process"]
    expense["approver"] = [{"attr": 2, "userid": ["lead", "cfo"]}]
    expense["notifyer"] = ["boss"]

    info = api.post("oa/getapprovaldetail", {"sp_no": api.post("oa/applyevent", expense)["sp_no"]})["info"]

    assert [r["approverattr"] for r in info["sp_record"]] == [2]
    assert info["notifyer"] == [{"userid": "boss"}]


def test_given_template_flow_when_submitted_then_level_one_leader_approves(api, expense):
    expense["use_template_approver"] = 1
    del expense["process"]

    info = api.post("oa/getapprovaldetail", {"sp_no": api.post("oa/applyevent", expense)["sp_no"]})["info"]

    assert [d["approver"]["userid"] for d in info["sp_record"][0]["details"]] == ["lead"]


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"creator_userid": "ghost"}, 301055),
        ({"creator_userid": "gone"}, 301055),
        ({"template_id": ""}, 301025),
        ({"template_id": "tpl-unknown"}, 301025),
        ({"apply_data": {"contents": []}}, 301025),
        ({"apply_data": {"contents": [{"control": "Text", "id": "t"}]}}, 301025),
        ({"process": {"node_list": [{"type": 1, "userid": ["ghost"]}]}}, 301025),
        ({"process": {"node_list": [{"type": 2, "userid": ["boss"]}]}}, 301025),
        ({"use_template_approver": 7}, 301025),
        ({"summary_list": [{}, {}, {}, {}]}, 301025),
    ],
)
def test_given_invalid_application_when_submitted_then_rejected_and_not_stored(api, expense, clock, change, errcode):
    expense.update(change)

    body = api.post("oa/applyevent", expense)

    assert body["errcode"] == errcode
    assert api.post("oa/getapprovalinfo", _window(clock))["sp_no_list"] == []


def test_given_unknown_sp_no_when_getting_detail_then_301025(api):
    assert api.post("oa/getapprovaldetail", {"sp_no": "209901010001"})["errcode"] == 301025


def test_given_forms_over_time_when_listing_by_window_then_only_those_inside(api, expense, clock):
    first = api.post("oa/applyevent", expense)["sp_no"]
    clock.advance(3600)
    second = api.post("oa/applyevent", expense)["sp_no"]
    now = int(clock.now().timestamp())

    assert api.post("oa/getapprovalinfo", {"starttime": now - 60, "endtime": now})["sp_no_list"] == [second]
    both = api.post("oa/getapprovalinfo", {"starttime": now - 3600, "endtime": now})
    assert both["sp_no_list"] == [first, second]
    assert both["next_cursor"] == 0


def test_given_more_forms_than_page_when_paging_with_new_cursor_then_all_seen_once(api, expense, clock):
    numbers = []
    for _ in range(5):
        numbers.append(api.post("oa/applyevent", expense)["sp_no"])
        clock.advance(1)

    seen, cursor = [], ""
    for _ in range(5):
        page = api.post("oa/getapprovalinfo", {**_window(clock), "size": 2, "new_cursor": cursor})
        seen += page["sp_no_list"]
        cursor = page["new_next_cursor"]
        if not cursor:
            break

    assert seen == numbers
    legacy = api.post("oa/getapprovalinfo", {**_window(clock), "size": 2, "cursor": 2})
    assert legacy["sp_no_list"] == numbers[2:4] and legacy["next_cursor"] == 4


def test_given_filters_when_listing_then_only_matching_forms(api, expense, clock):
    mine = api.post("oa/applyevent", expense)["sp_no"]
    leave = api.post("oa/applyevent", {**expense, "creator_userid": "dev2", "template_id": "tpl-leave"})["sp_no"]

    def listed(*filters):
        return api.post("oa/getapprovalinfo", {**_window(clock), "filters": list(filters)})["sp_no_list"]

    assert listed({"key": "creator", "value": "dev1"}) == [mine]
    assert listed({"key": "template_id", "value": "tpl-leave"}) == [leave]
    assert listed({"key": "sp_status", "value": "1"}, {"key": "department", "value": "3"}) == [mine, leave]
    assert listed({"key": "sp_status", "value": "2"}) == []


@pytest.mark.parametrize(
    "body",
    [
        {"starttime": "100", "endtime": "50"},
        {"starttime": "0", "endtime": str(31 * 86400 + 1)},
        {"starttime": "x", "endtime": "1"},
        {"starttime": "0", "endtime": "10", "size": 101},
        {"starttime": "0", "endtime": "10", "new_cursor": "abc"},
        {"starttime": "0", "endtime": "10", "filters": [{"key": "colour", "value": "red"}]},
    ],
)
def test_given_bad_listing_request_when_listing_then_301025(api, body):
    assert api.post("oa/getapprovalinfo", body)["errcode"] == 301025


def test_given_decisions_when_all_nodes_agree_then_form_approved(api, sandbox, expense):
    sp_no = api.post("oa/applyevent", expense)["sp_no"]

    after_cfo = sandbox.decide_approval(sp_no, "cfo", True, "同意")
    after_boss = sandbox.decide_approval(sp_no, "boss", True)
    final = sandbox.decide_approval(sp_no, "lead", True)

    assert (after_cfo["sp_status"], after_cfo["statu_change_event"]) == (1, 2)
    assert after_boss["sp_status"] == 1  # 会签: the node still waits for lead
    assert final["sp_status"] == 2
    detail = api.post("oa/getapprovaldetail", {"sp_no": sp_no})["info"]
    assert detail["sp_record"][0]["details"][0]["speech"] == "同意"
    assert detail["sp_record"][0]["details"][0]["sptime"] > 0


def test_given_rejection_when_deciding_then_form_rejected_and_closed(api, sandbox, expense):
    sp_no = api.post("oa/applyevent", expense)["sp_no"]

    result = sandbox.decide_approval(sp_no, "cfo", False, "发票不全")

    assert (result["sp_status"], result["statu_change_event"]) == (3, 3)
    with pytest.raises(Conflict):
        sandbox.decide_approval(sp_no, "boss", True)


def test_given_wrong_approver_or_form_when_deciding_then_refused(api, sandbox, expense):
    sp_no = api.post("oa/applyevent", expense)["sp_no"]

    with pytest.raises(Forbidden):
        sandbox.decide_approval(sp_no, "boss", True)  # boss is on the second node
    with pytest.raises(NotFound):
        sandbox.decide_approval("nope", "cfo", True)
    assert sandbox.approval(sp_no)["sp_status"] == 1


def test_given_user_when_getting_vacation_quota_then_balances_in_seconds(api):
    lists = api.post("oa/vacation/getuservacationquota", {"userid": "dev1"})["lists"]

    assert lists == [
        {"id": 1, "vacationname": "年假", "assignduration": 432000, "usedduration": 432000, "leftduration": 0},
        {"id": 4, "vacationname": "调休", "assignduration": 129600, "usedduration": 0, "leftduration": 129600},
    ]


def test_given_user_without_balances_when_getting_quota_then_zero_for_each_type(api):
    lists = api.post("oa/vacation/getuservacationquota", {"userid": "dev2"})["lists"]

    assert [(v["id"], v["leftduration"]) for v in lists] == [(1, 0), (4, 0)]


def test_given_unknown_user_when_getting_quota_then_60111(api):
    assert api.post("oa/vacation/getuservacationquota", {"userid": "ghost"})["errcode"] == 60111


def test_given_corp_when_getting_vacation_config_then_types_by_day(api):
    lists = api.get("oa/vacation/getcorpconf")["lists"]

    assert [(v["id"], v["name"], v["time_attr"], v["perday_duration"]) for v in lists] == [
        (1, "年假", 0, 86400), (4, "调休", 0, 86400)]
