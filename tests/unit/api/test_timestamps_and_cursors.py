"""The API's one timestamp convention (`clock.company_iso` / `company_times`, applied by the
serializer `api.dumps`) and the one page cursor (`wecom_oa.paging`)."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wecom_oa import api
from wecom_oa.clock import company_iso, company_times
from wecom_oa.errors import InvalidInput
from wecom_oa.paging import decode_cursor, encode_cursor


@pytest.mark.parametrize(("value", "expected"), [
    ("2026-12-04T10:00:00Z", "2026-12-04T18:00:00+08:00"),
    ("2026-12-04T10:00:00+00:00", "2026-12-04T18:00:00+08:00"),
    ("2026-12-04T10:00:00.123456+00:00", "2026-12-04T18:00:00+08:00"),
    ("2026-12-04T18:00:00+08:00", "2026-12-04T18:00:00+08:00"),
    ("2026-12-04T05:00:00-05:00", "2026-12-04T18:00:00+08:00"),
    ("2026-12-04T16:00:00Z", "2026-12-05T00:00:00+08:00"),  # the company's day, not UTC's
    (datetime(2026, 12, 4, 10, tzinfo=UTC), "2026-12-04T18:00:00+08:00"),
    (None, None),
])
def test_given_any_offset_then_the_company_offset_to_the_second(fresh_settings, value, expected) -> None:
    assert company_iso(value) == expected


def test_given_a_time_without_offset_then_it_is_refused_not_guessed(fresh_settings) -> None:
    with pytest.raises(ValueError, match="offset"):
        company_iso("2026-12-04T10:00:00")


def test_given_another_company_timezone_then_its_offset(monkeypatch, fresh_settings) -> None:
    from wecom_oa.settings import reset_settings

    monkeypatch.setenv("OA_TIMEZONE", "Asia/Tokyo")
    reset_settings()
    assert company_iso("2026-12-04T10:00:00Z") == "2026-12-04T19:00:00+09:00"


def test_given_an_answer_then_every_timestamp_in_it_is_converted_and_nothing_else(fresh_settings) -> None:
    answer = {"created_at": "2026-03-02T01:00:00.5+00:00", "id": "AP20260302-1a2b", "date": "2026-03-02",
              "stages": [{"decided_at": "2026-03-02T02:00:00Z", "decisions": [{"at": "2026-03-02T03:00:00Z"}]}],
              "text": "截止 2026-03-02T01:00:00Z 前完成", "naive": "2026-03-02T01:00:00", "bad": "2026-02-30T01:00:00Z",
              "count": 3, "none": None, "cursor": "eyJwayI6IkFQUFJPVkFMIzEifQ=="}

    out = json.loads(api.dumps(answer))

    assert out == {**answer, "created_at": "2026-03-02T09:00:00+08:00",
                   "stages": [{"decided_at": "2026-03-02T10:00:00+08:00",
                               "decisions": [{"at": "2026-03-02T11:00:00+08:00"}]}]}


def test_given_a_datetime_object_in_an_answer_then_it_is_rendered_the_same(fresh_settings) -> None:
    out = json.loads(api.dumps({"at": datetime(2026, 3, 2, 1, tzinfo=UTC), "day": datetime(2026, 3, 2).date()}))
    assert out == {"at": "2026-03-02T09:00:00+08:00", "day": "2026-03-02"}


def test_given_a_deeply_nested_answer_then_the_walk_does_not_recurse(fresh_settings) -> None:
    value: object = "2026-03-02T01:00:00Z"
    for _ in range(5000):
        value = [value]
    out = company_times(value)
    for _ in range(5000):
        out = out[0]
    assert out == "2026-03-02T09:00:00+08:00"


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))])))
def test_given_any_instant_then_the_rendering_is_the_same_instant_in_the_company_offset(when: datetime) -> None:
    from wecom_oa.settings import reset_settings

    reset_settings()
    rendered = company_iso(when)
    assert rendered.endswith("+08:00")
    assert datetime.fromisoformat(rendered) == when.replace(microsecond=0)


KEY = {"pk": "APPROVAL#AP1", "sk": "META", "gsi3pk": "APPROVALS#STATUS#approved", "gsi3sk": "2026-03-02T01:00:00+00:00#AP1"}


def test_given_a_cursor_then_it_decodes_to_its_key_under_its_own_query_only() -> None:
    cursor = encode_cursor(KEY, "approvals|status=approved")

    assert decode_cursor(cursor, "APPROVALS#STATUS#approved", "approvals|status=approved") == KEY
    assert encode_cursor(None) is None and decode_cursor(None, "x") is None and decode_cursor("", "x") is None
    for partition, scope in [("APPROVALS#STATUS#approved", "approvals|status=approved|type=leave"),
                             ("APPROVALS#STATUS#rejected", "approvals|status=approved")]:
        with pytest.raises(InvalidInput) as err:
            decode_cursor(cursor, partition, scope)
        assert err.value.details == [{"field": "cursor", "problem": "not a cursor of this list"}]


@pytest.mark.parametrize("cursor", [
    "%%%", "bm90LWEtY3Vyc29y", base64.urlsafe_b64encode(b"[1,2]").decode(), "é",
    base64.urlsafe_b64encode(json.dumps({**KEY, "n": 1}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps(KEY).encode()).decode(),  # a key without its query's tag
])
def test_given_anything_but_a_cursor_of_ours_then_invalid_input_naming_cursor(cursor) -> None:
    with pytest.raises(InvalidInput) as err:
        decode_cursor(cursor, "APPROVALS#STATUS#approved")
    assert err.value.message.startswith("cursor:")
