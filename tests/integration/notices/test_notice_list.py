"""GET /notices: the notices of a month, newest first, a page at a time with an opaque cursor, each
with its acknowledgement counts; a bad month, limit or cursor is named."""

from __future__ import annotations

from datetime import timedelta

import pytest

RECIPIENTS = ["zhangsan", "lisi"]


def _post(app, clock, title: str) -> str:
    status, created = app.http("POST", "/notices", {
        "title": title, "content": "请阅读并确认。", "touser": RECIPIENTS, "sender": "wangjianguo",
        "ack_deadline": "2025-10-20T09:00:00+08:00"})
    assert status == 201, created
    app.stack.drain()
    clock.advance(timedelta(minutes=5))
    return created["id"]


def test_given_three_notices_when_listed_two_a_page_then_newest_first_and_each_once(local_app, clock) -> None:
    ids = [_post(local_app, clock, f"通知{i}") for i in range(3)]
    [card, *_] = [m for m in local_app.messages() if m["msgtype"] == "template_card" and "通知2" in str(m["card"])]
    local_app.click("zhangsan", card["task_id"], "ack")

    status, first = local_app.http("GET", "/notices", query="limit=2")
    assert status == 200, first
    assert first["month"] == "2025-10" and [n["id"] for n in first["notices"]] == [ids[2], ids[1]]
    newest = first["notices"][0]
    assert (newest["title"], newest["sender"], newest["recipients"], newest["acknowledged"], newest["ack_rate"]) == \
        ("通知2", "wangjianguo", 2, 1, 0.5)
    assert first["next_cursor"]

    status, second = local_app.http("GET", "/notices", query=f"limit=2&cursor={first['next_cursor']}")
    assert status == 200, second
    assert [n["id"] for n in second["notices"]] == [ids[0]]
    assert second["next_cursor"] is None or local_app.http(
        "GET", "/notices", query=f"limit=2&cursor={second['next_cursor']}")[1]["notices"] == []

    status, other = local_app.http("GET", "/notices", query="month=2025-09")
    assert status == 200 and other["notices"] == [] and other["next_cursor"] is None


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=101", "limit"), ("month=2025-13", "month"), ("month=oct", "month"),
    ("cursor=bm90LWEtY3Vyc29y", "cursor"), ("cursor=%%%", "cursor"), ("colour=blue", "colour"),
])
def test_given_a_bad_query_then_400_naming_it(local_app, query, field) -> None:
    status, body = local_app.http("GET", "/notices", query=query)

    assert status == 400, body
    assert field in body["error"]["message"], body


def test_given_a_cursor_of_another_month_then_it_is_refused(local_app, clock) -> None:
    for i in range(2):
        _post(local_app, clock, f"通知{i}")
    cursor = local_app.http("GET", "/notices", query="limit=1")[1]["next_cursor"]

    status, body = local_app.http("GET", "/notices", query=f"month=2025-11&cursor={cursor}")

    assert status == 400 and "cursor" in body["error"]["message"], body
