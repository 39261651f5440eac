"""WeCom 汇报 (journal) APIs: record list pagination and window splitting, record detail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.wecom_api.router import load
from wecom_oa.errors import InvalidInput
from wecom_oa.wecom.client import JOURNAL_MAX_WINDOW, JournalRecord
from wecom_oa.wecom.errors import ApiForbidden, WeComError

LIST = "oa/journal/get_record_list"
DETAIL = "oa/journal/get_record_detail"
START = datetime(2026, 1, 22, 16, 0, tzinfo=UTC)
END = datetime(2026, 1, 23, 9, 0, tzinfo=UTC)


def _fixture_uuids() -> list[str]:
    return [u for page in load("oa_journal_get_record_list.json") for u in page["journaluuid_list"]]


def test_given_two_pages_when_listing_then_every_uuid_once_following_the_cursor(client, router):
    uuids = list(client.oa_journal_record_list(START, END))

    assert uuids == _fixture_uuids()
    bodies = router.bodies(LIST)
    assert [b["cursor"] for b in bodies] == [0, 3]
    assert all(b["starttime"] == int(START.timestamp()) and b["endtime"] == int(END.timestamp()) for b in bodies)
    assert all(b["limit"] == 100 and "filters" not in b for b in bodies)


def test_given_a_template_filter_when_listing_then_it_is_sent_as_key_value_pairs(client, router):
    list(client.oa_journal_record_list(START, END, filters=[{"key": "template_id", "value": "tpl-daily"}]))

    assert router.bodies(LIST)[0]["filters"] == [{"key": "template_id", "value": "tpl-daily"}]


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({"filters": [{"key": "sp_status", "value": "1"}]}, "filter key"),
    ({"limit": 101}, "limit"),
    ({"limit": 0}, "limit"),
])
def test_given_a_request_wecom_would_reject_when_listing_then_invalid_input_before_any_call(
        client, router, kwargs, problem):
    with pytest.raises(InvalidInput, match=problem):
        list(client.oa_journal_record_list(START, END, **kwargs))

    assert router.count(LIST) == 0


def test_given_end_before_start_when_listing_then_invalid_input(client, router):
    with pytest.raises(InvalidInput, match="before start"):
        list(client.oa_journal_record_list(END, START))


def test_given_a_span_longer_than_a_month_when_listing_then_windows_are_contiguous_and_duplicates_dropped(
        client, router):
    start, end = START - timedelta(days=60), START
    router.script(LIST,
                  {"errcode": 0, "errmsg": "ok", "journaluuid_list": ["j1", "j2"], "next_cursor": 2, "endflag": 1},
                  {"errcode": 0, "errmsg": "ok", "journaluuid_list": ["j2", "j3"], "next_cursor": 2, "endflag": 1},
                  {"errcode": 0, "errmsg": "ok", "journaluuid_list": ["j4"], "next_cursor": 1, "endflag": 1})

    uuids = list(client.oa_journal_record_list(start, end))

    assert uuids == ["j1", "j2", "j3", "j4"]
    windows = [(b["starttime"], b["endtime"]) for b in router.bodies(LIST)]
    assert windows[0][0] == int(start.timestamp()) and windows[-1][1] == int(end.timestamp())
    assert all(prev[1] == nxt[0] for prev, nxt in zip(windows, windows[1:], strict=False))
    assert all(0 < high - low <= JOURNAL_MAX_WINDOW.total_seconds() for low, high in windows)


def test_given_a_page_that_does_not_advance_the_cursor_when_listing_then_the_loop_stops(client, router):
    router.script(LIST, {"errcode": 0, "errmsg": "ok", "journaluuid_list": ["j1"], "next_cursor": 0, "endflag": 0})

    assert list(client.oa_journal_record_list(START, END)) == ["j1"]
    assert router.count(LIST) == 1


def test_given_endflag_as_a_boolean_when_listing_then_it_ends_the_pages(client, router):
    router.script(LIST, {"errcode": 0, "errmsg": "ok", "journaluuid_list": ["j1"], "next_cursor": 1, "endflag": True})

    assert list(client.oa_journal_record_list(START, END)) == ["j1"]
    assert router.count(LIST) == 1


def test_given_the_app_lacks_the_journal_permission_when_listing_then_api_forbidden(client, router):
    router.script(LIST, 48002)

    with pytest.raises(ApiForbidden) as raised:
        list(client.oa_journal_record_list(START, END))

    assert raised.value.errcode == 48002


def test_given_a_journal_uuid_when_detail_fetched_then_a_typed_record(client, router):
    uuid = _fixture_uuids()[0]

    record = client.oa_journal_record_detail(uuid)

    assert isinstance(record, JournalRecord)
    assert (record.journal_uuid, record.template_name, record.submitter.userid) == (uuid, "日报", "zhangsan")
    assert record.report_time == 1769162400
    assert [r.userid for r in record.receivers] == ["lisi", "wangwu"]
    assert record.apply_data["contents"][0]["value"]["text"] == "完成报销单据核对"
    assert router.bodies(DETAIL) == [{"journaluuid": uuid}]


def test_given_a_detail_without_submitter_when_fetched_then_wecom_error_names_the_field(client, router):
    info = {**load("oa_journal_get_record_detail.json")["info"]}
    del info["submitter"]
    router.script(DETAIL, {"errcode": 0, "errmsg": "ok", "info": info})

    with pytest.raises(WeComError, match="submitter"):
        client.oa_journal_record_detail("j1")
