"""GET /approvals over many stored approvals: every filter and their combinations walked page by
page (each approval once, newest first, none missing), the reads of a page bounded by its size
(counted at the boto3 client), and every bad limit, cursor or range answered 400 naming it.

The approvals are stored through the repository (as `submit` stores them, without running their
executions), so a list can hold a few dozen of them cheaply."""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
APPLICANTS = ["zhangsan", "lisi", "wangwu"]
APPROVERS = ["lina", "zhoujie"]
STATUSES = ["pending", "approved", "rejected", "approved", "withdrawn"]
TYPES = ["expense", "leave", "expense"]
OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")


def _spec(i: int) -> dict[str, Any]:
    approvers = [APPROVERS[i % 2]] + (["liuyang"] if i % 4 == 0 else [])
    return {"id": f"AP20260302-{i:08x}", "type": TYPES[i % 3], "applicant": APPLICANTS[i % 3],
            "status": STATUSES[i % 5], "outcome": "route", "channel": "app",
            "created_at": (START + timedelta(minutes=7 * i, microseconds=i % 2 * 250_000)).isoformat(),
            "stages": {"1": {"index": 1, "approvers": approvers[:1], "round_approvers": approvers, "status": "open"}}}


def _store(items: list[dict[str, Any]]) -> None:
    from wecom_oa.approvals.store import ApprovalRepository
    from wecom_oa.aws.dynamo import app_table

    repo = ApprovalRepository(app_table())
    for item in items:
        repo.create(item, open_due_iso=item["created_at"] if item["status"] == "pending" else None)


@pytest.fixture
def stored(local_app: Any) -> list[dict[str, Any]]:
    items = [_spec(i) for i in range(26)]
    _store(items)
    return items


def _walk(app: Any, query: str, limit: int) -> tuple[list[str], list[dict[str, Any]]]:
    """Every page of a list, following next_cursor; (ids in order, the pages)."""
    ids, pages, cursor = [], [], None
    for _ in range(100):
        q = f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        status, page = app.http("GET", "/approvals", query=q.lstrip("&"))
        assert status == 200, page
        assert len(page["approvals"]) <= limit and page["count"] == len(page["approvals"])
        ids += [a["id"] for a in page["approvals"]]
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return ids, pages
    raise AssertionError(f"{query}: more than 100 pages")


def _newest_first(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in sorted(items, key=lambda i: (datetime.fromisoformat(i["created_at"]), i["id"]),
                                    reverse=True)]


def _at(minutes: int) -> str:
    return quote((START + timedelta(minutes=minutes)).astimezone(UTC).isoformat().replace("+00:00", "Z"))


def _in_shanghai(minutes: int) -> str:
    from zoneinfo import ZoneInfo

    return quote((START + timedelta(minutes=minutes)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat())


CASES = {
    "": lambda i: True,
    "applicant=zhangsan": lambda i: i["applicant"] == "zhangsan",
    "approver=lina": lambda i: "lina" in i["stages"]["1"]["round_approvers"],
    "approver=liuyang": lambda i: "liuyang" in i["stages"]["1"]["round_approvers"],
    "status=pending": lambda i: i["status"] == "pending",
    "status=approved": lambda i: i["status"] == "approved",
    "type=leave": lambda i: i["type"] == "leave",
    f"since={_at(35)}&until={_in_shanghai(105)}": lambda i: 35 <= _minutes(i) < 105,
    "applicant=lisi&status=approved": lambda i: i["applicant"] == "lisi" and i["status"] == "approved",
    "approver=zhoujie&type=expense": lambda i: "zhoujie" in i["stages"]["1"]["round_approvers"]
    and i["type"] == "expense",
    f"status=rejected&since={_at(20)}": lambda i: i["status"] == "rejected" and _minutes(i) >= 20,
    f"type=expense&until={_at(70)}": lambda i: i["type"] == "expense" and _minutes(i) < 70,
    f"applicant=wangwu&type=expense&status=approved&until={_at(170)}": lambda i: i["applicant"] == "wangwu"
    and i["type"] == "expense" and i["status"] == "approved" and _minutes(i) < 170,
}


def _minutes(item: dict[str, Any]) -> float:
    return (datetime.fromisoformat(item["created_at"]) - START).total_seconds() / 60


@pytest.mark.parametrize("query", list(CASES))
def test_given_a_filter_when_every_page_is_walked_then_each_match_comes_once_newest_first(local_app, stored,
                                                                                          query) -> None:
    expected = _newest_first([i for i in stored if CASES[query](i)])
    assert expected, f"{query}: the fixture has no match, the test would prove nothing"

    ids, pages = _walk(local_app, query, limit=3)

    assert ids == expected
    assert all(OFFSET.fullmatch(a["created_at"]) for page in pages for a in page["approvals"])


def test_given_one_filter_then_every_page_but_the_last_is_full_and_the_last_ends_the_list(local_app, stored) -> None:
    _, pages = _walk(local_app, "type=expense", limit=4)

    assert [len(p["approvals"]) for p in pages[:-1]] == [4] * (len(pages) - 1)
    assert 1 <= len(pages[-1]["approvals"]) <= 4 and pages[-1]["next_cursor"] is None


def test_given_times_then_they_are_answered_in_the_company_offset_and_a_range_in_any_offset_agrees(
        local_app, stored) -> None:
    _, utc = local_app.http("GET", "/approvals", query=f"since={_at(0)}&until={_at(15)}")
    _, local = local_app.http("GET", "/approvals", query=f"since={_in_shanghai(0)}&until={_in_shanghai(15)}")

    assert [a["id"] for a in utc["approvals"]] == [a["id"] for a in local["approvals"]] == \
        [stored[2]["id"], stored[1]["id"], stored[0]["id"]]
    assert [a["created_at"] for a in local["approvals"]] == \
        ["2026-03-02T09:14:00+08:00", "2026-03-02T09:07:00+08:00", "2026-03-02T09:00:00+08:00"]
    assert utc["since"] == "2026-03-02T09:00:00+08:00" and utc["until"] == "2026-03-02T09:15:00+08:00"


class _Reads:
    """Items DynamoDB evaluated for the API, per operation, counted at the boto3 client."""

    def __init__(self, client: Any) -> None:
        self.items: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self._client = client
        client.meta.events.register("after-call.dynamodb", self._after)

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "Query":
            self.items["Query"] += int(parsed.get("ScannedCount", 0))
        elif model.name == "BatchGetItem":
            self.items["BatchGetItem"] += sum(len(v) for v in parsed.get("Responses", {}).values())
        elif model.name in ("GetItem", "Scan"):
            self.items[model.name] += 1 if parsed.get("Item") else int(parsed.get("ScannedCount", 0))
        self.calls[model.name] += 1

    def reset(self) -> None:
        self.items.clear()
        self.calls.clear()

    def close(self) -> None:
        self._client.meta.events.unregister("after-call.dynamodb", self._after)


@pytest.mark.parametrize(("query", "bound"), [
    ("", 11), ("status=approved", 11), ("applicant=zhangsan", 11), ("approver=lina", 11), ("type=expense", 11),
    ("status=pending", 11), ("applicant=zhangsan&status=approved", 41), ("approver=lina&type=leave", 41),
])
def test_given_a_long_history_then_a_page_reads_about_its_size_never_the_partition(local_app, query, bound) -> None:
    from wecom_oa.aws.dynamo import app_table

    _store([_spec(i) for i in range(150)])
    reads = _Reads(app_table().client)
    try:
        cursor, pages = None, 0
        while pages < 3:
            q = f"{query}&limit=10" + (f"&cursor={cursor}" if cursor else "")
            reads.reset()
            status, page = local_app.http("GET", "/approvals", query=q.lstrip("&"))
            assert status == 200, page
            pages += 1
            # limit + 1 index entries (the one more says whether a page follows), as many approvals
            # read by key; with a second filter at most FILTERED_READS_PER_ITEM x limit + 1.
            assert reads.items["Query"] <= bound and reads.items["BatchGetItem"] <= bound, (query, reads.items)
            assert reads.calls["Scan"] == 0 and reads.calls["GetItem"] == 0, reads.calls
            assert page["approvals"], (query, page)
            cursor = page["next_cursor"]
    finally:
        reads.close()


def _cursor_for(app: Any, query: str) -> str:
    _, page = app.http("GET", "/approvals", query=f"{query}&limit=1")
    assert page["next_cursor"], page
    return page["next_cursor"]


def _tampered(cursor: str, **changes: str) -> str:
    key = json.loads(base64.urlsafe_b64decode(cursor))
    key.update(changes)
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=ten", "limit"), ("limit=-3", "limit"),
    ("cursor=bm90LWEtY3Vyc29y", "cursor"), ("cursor=%25%25%25", "cursor"), ("cursor=e30=", "cursor"),
    ("status=sideways", "status"), ("type=exp%20ense", "type"), ("applicant=a%2Fb", "applicant"),
    ("since=2026-03-02T09:00:00", "since"), ("until=yesterday", "until"), ("since=2026-03-02", "since"),
    (f"since={_at(60)}&until={_at(30)}", "until"), ("approvr=lina", "approvr"),
])
def test_given_a_bad_query_then_400_naming_the_parameter(local_app, stored, query, field) -> None:
    status, body = local_app.http("GET", "/approvals", query=query)

    assert status == 400, body
    assert body["error"]["code"] == "invalid_input" and body["error"]["message"].startswith(field), body


@pytest.mark.parametrize(("made_for", "used_with"), [
    ("status=approved", "status=rejected"),                 # another partition
    ("status=approved", "status=approved&type=leave"),      # same partition, other filters
    ("applicant=zhangsan", "applicant=lisi"),
    ("type=expense", "approver=lina"),
    (f"status=approved&since={_at(0)}", f"status=approved&since={_at(60)}"),
])
def test_given_a_cursor_of_another_list_then_it_is_refused(local_app, stored, made_for, used_with) -> None:
    cursor = _cursor_for(local_app, made_for)

    status, body = local_app.http("GET", "/approvals", query=f"{used_with}&cursor={cursor}")

    assert status == 400 and body["error"]["message"].startswith("cursor"), body


def test_given_a_tampered_cursor_then_400_not_a_store_error(local_app, stored) -> None:
    query = f"type=expense&since={_at(30)}"
    cursor = _cursor_for(local_app, query)
    outside = _tampered(cursor, gsi3sk="2020-01-01T00:00:00+00:00#AP1")
    foreign = _tampered(cursor, gsi3pk="APPROVALS#TYPE#leave")
    extra = _tampered(cursor, gsi9pk="x")

    for bad in (outside, foreign, extra):
        status, body = local_app.http("GET", "/approvals", query=f"{query}&cursor={bad}")
        assert status == 400 and body["error"]["message"].startswith("cursor"), body


def test_given_approvals_and_tasks_stored_before_the_list_index_when_backfilled_then_listed_once(local_app) -> None:
    from wecom_oa.approvals.store import applicant_keys
    from wecom_oa.aws.dynamo import Keys, app_table
    from wecom_oa.cli.backfill_lists import backfill

    table = app_table()
    legacy = [_spec(i) for i in range(6)]
    for item in legacy:  # as the previous release stored them: gsi2 (applicant) keys, no gsi3
        table.put({**Keys.approval(item["id"]), **item, **applicant_keys(item["applicant"], item["created_at"],
                                                                        item["id"])})
    table.put({**Keys.task("TK-old"), "id": "TK-old", "entity": "task", "title": "旧任务", "owner": "zhangsan",
               "group": "service-desk", "status": "done", "created_at": "2026-03-01T01:00:00+00:00",
               "done_at": "2026-03-01T02:00:00+00:00"})
    assert local_app.http("GET", "/approvals", query="type=leave")[1]["approvals"] == []

    assert backfill(table, dry_run=True) == {"approvals": 6, "tasks": 1, "skipped": 0}
    assert local_app.http("GET", "/approvals", query="type=leave")[1]["approvals"] == []  # a dry run writes nothing
    assert backfill(table) == {"approvals": 6, "tasks": 1, "skipped": 0}
    assert backfill(table) == {"approvals": 0, "tasks": 0, "skipped": 0}  # nothing lacks them any more

    for query, match in [("type=leave", CASES["type=leave"]), ("approver=lina", CASES["approver=lina"]),
                         ("status=approved", CASES["status=approved"]), ("", CASES[""])]:
        ids, _ = _walk(local_app, query, limit=2)
        assert ids == _newest_first([i for i in legacy if match(i)]), query
    _, done = local_app.http("GET", "/tasks", query="group=service-desk&status=done")
    assert [t["id"] for t in done["items"]] == ["TK-old"] and done["items"][0]["done_at"] == "2026-03-01T10:00:00+08:00"
