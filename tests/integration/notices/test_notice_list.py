"""GET /notices: the notices of a month, newest first, a page at a time with an opaque cursor, each
with its acknowledgement counts; a bad month, limit or cursor is named."""

from __future__ import annotations

import re
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


def test_given_a_month_of_notices_when_paged_then_each_page_reads_its_size_and_times_have_the_offset(
        local_app, clock) -> None:
    from wecom_oa.aws.dynamo import app_table

    ids = [_post(local_app, clock, f"通知{i}") for i in range(5)]
    reads: list[tuple[str, int]] = []

    def count(parsed, model, **_) -> None:
        if model.name == "Query":
            reads.append(("Query", parsed.get("ScannedCount", 0)))
        elif model.name in ("BatchGetItem", "GetItem", "Scan"):
            reads.append((model.name, sum(len(v) for v in parsed.get("Responses", {}).values())))

    client = app_table().client
    client.meta.events.register("after-call.dynamodb", count)
    try:
        seen, cursor, pages = [], None, []
        while True:
            reads.clear()
            status, page = local_app.http("GET", "/notices", query="limit=2" + (f"&cursor={cursor}" if cursor else ""))
            assert status == 200, page
            pages.append(list(reads))
            seen += [n["id"] for n in page["notices"]]
            assert all(re.fullmatch(r"2025-10-09T09:\d\d:00\+08:00", n["created_at"]) for n in page["notices"]), page
            assert all(n["ack_deadline"] == "2025-10-20T09:00:00+08:00" for n in page["notices"]), page
            cursor = page["next_cursor"]
            if cursor is None:
                break
    finally:
        client.meta.events.unregister("after-call.dynamodb", count)

    assert seen == ids[::-1]
    assert len(pages) == 3  # 2 + 2 + 1: the one extra entry read tells the last page it is the last
    for page_reads in pages:  # one Query of limit + 1 entries, one BatchGetItem of the notices shown
        assert [op for op, _ in page_reads] == ["Query", "BatchGetItem"] and all(n <= 3 for _, n in page_reads)
