"""Daily-digest reads vs open items: the digest reads the sparse gsi1 only, so history does not count.

In-process moto with a table created from template.yaml's AppTable (same keys and indexes). Open
tickets carry the gsi1 keys (`OPEN#TICKET#{team}`), closed tickets are META items without them,
spread over the same teams. `services.digests.open_items(groups)` is measured by counting, at the
boto3 client, every Query call and its ScannedCount (items DynamoDB evaluated = items billed); the
peer is what a table Scan filtered on status would read for the same answer. Closed tickets carry
a small payload (history size changes nothing on the index path and keeps the 100k load quick).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from typing import Any

from bench import BudgetMissed

SCENARIOS = [(1_000, 10_000), (1_000, 100_000)]
BATCH = 25


def _create_app_table(client: Any, name: str) -> None:
    from local.stack import load_template

    props = load_template()["Resources"]["AppTable"]["Properties"]
    client.create_table(TableName=name, AttributeDefinitions=props["AttributeDefinitions"],
                        KeySchema=props["KeySchema"], GlobalSecondaryIndexes=props["GlobalSecondaryIndexes"],
                        BillingMode="PAY_PER_REQUEST")


def _open_ticket(i: int, team: str) -> dict[str, Any]:
    due = f"2026-03-{1 + i % 28:02d}T{i % 24:02d}:00:00Z"
    tid = f"T{i:07d}"
    return {"pk": {"S": f"TICKET#{tid}"}, "sk": {"S": "META"}, "entity": {"S": "ticket"}, "id": {"S": tid},
            "type": {"S": "repair"}, "title": {"S": f"设备报修 {i}"}, "status": {"S": "in_progress"},
            "team": {"S": team}, "priority": {"S": "P3"}, "assignee": {"S": "zhangsan"},
            "reporter": {"S": "chenjing"}, "version": {"N": "2"}, "next_due": {"S": due},
            "gsi1pk": {"S": f"OPEN#TICKET#{team}"}, "gsi1sk": {"S": f"{due}#{tid}"}}


def _closed_ticket(i: int, team: str) -> dict[str, Any]:
    tid = f"C{i:07d}"
    return {"pk": {"S": f"TICKET#{tid}"}, "sk": {"S": "META"}, "entity": {"S": "ticket"}, "id": {"S": tid},
            "status": {"S": "closed"}, "team": {"S": team}, "version": {"N": "5"}}


def _load(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    for start in range(0, len(items), BATCH):
        pending = {table: [{"PutRequest": {"Item": it}} for it in items[start:start + BATCH]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


class ReadCounter:
    """Counts calls and items evaluated per DynamoDB operation, from the responses boto3 parses."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.scanned: Counter[str] = Counter()
        self.returned: Counter[str] = Counter()
        client.meta.events.register("after-call.dynamodb", self._after)

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in ("Query", "Scan", "GetItem", "BatchGetItem"):
            self.calls[model.name] += 1
            self.scanned[model.name] += int(parsed.get("ScannedCount", 1 if parsed.get("Item") else 0))
            self.returned[model.name] += int(parsed.get("Count", 1 if parsed.get("Item") else 0))

    def reset(self) -> None:
        self.calls.clear()
        self.scanned.clear()
        self.returned.clear()


def _naive_scan(client: Any, table: str) -> int:
    """Items a filtered Scan evaluates to find the same open tickets (the peer)."""
    kwargs: dict[str, Any] = {"TableName": table, "FilterExpression": "#s IN (:a, :b, :c)",
                              "ExpressionAttributeNames": {"#s": "status"},
                              "ExpressionAttributeValues": {":a": {"S": "new"}, ":b": {"S": "in_progress"},
                                                            ":c": {"S": "waiting_customer"}},
                              "Select": "COUNT"}
    scanned = 0
    while True:
        page = client.scan(**kwargs)
        scanned += page["ScannedCount"]
        if "LastEvaluatedKey" not in page:
            return scanned
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _scenario(n_open: int, n_closed: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from wecom_oa.aws.dynamo import reset_tables
    from wecom_oa.digests import service as digests
    from wecom_oa.settings import reset_settings

    name = "bench-digest-app"
    saved = {k: os.environ.get(k) for k in ("TABLE_NAME", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID",
                                             "AWS_SECRET_ACCESS_KEY")}
    os.environ.update({"TABLE_NAME": name, "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
                       "AWS_SECRET_ACCESS_KEY": "bench"})
    reset_settings()
    reset_tables()
    try:
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            _create_app_table(client, name)
            groups = list(digests.digest_config().groups)
            teams = [t for g in groups for t in g.teams]
            t0 = time.perf_counter()
            _load(client, name, [_open_ticket(i, teams[i % len(teams)]) for i in range(n_open)])
            _load(client, name, [_closed_ticket(i, teams[i % len(teams)]) for i in range(n_closed)])
            load_s = time.perf_counter() - t0
            from wecom_oa.aws.dynamo import app_table
            from wecom_oa.clock import get_clock

            counter = ReadCounter(app_table().client)
            t0 = time.perf_counter()
            items = list(digests.open_items(groups, get_clock().now()))
            read_s = time.perf_counter() - t0
            result = {"open": n_open, "closed": n_closed, "found": sum(i.kind == "ticket" for i in items),
                      "queries": counter.calls["Query"], "read": counter.scanned["Query"],
                      "other_calls": sum(v for k, v in counter.calls.items() if k != "Query"),
                      "load_s": load_s, "read_s": read_s}
            result["scan_read"] = _naive_scan(client, name)
            return result
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
        reset_tables()


def run() -> str:
    rows = [_scenario(o, c) for o, c in SCENARIOS]
    lines = [
        "## Daily digest reads vs open items (sparse gsi1)",
        "",
        "moto, AppTable from template.yaml; `services.digests.open_items` over the configured project groups "
        "(tickets of every team, tasks, approvals). Items read = sum of Query `ScannedCount` counted at the "
        "boto3 client. Baseline (not a peer: what no one should ship) = a status-filtered table Scan; the "
        "competent design, a Query on a status index, is what ours is (sparse: closed items leave it). "
        "No time column: moto's in-memory table walk says nothing of DynamoDB's latency.",
        "",
        "| open | closed | tickets found | Query calls | items read | read / open | baseline Scan items read | "
        "baseline / ours |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| {r['open']:,} | {r['closed']:,} | {r['found']:,} | {r['queries']} | {r['read']:,} | "
                     f"{r['read'] / r['open']:.2f} | {r['scan_read']:,} | {r['scan_read'] / max(r['read'], 1):.0f}× |")
    small, big = rows[0], rows[-1]
    grows = "does not grow" if big["read"] == small["read"] else "GROWS"
    lines += ["", f"Items read {grows} with history: {small['read']:,} at {small['closed']:,} closed vs "
              f"{big['read']:,} at {big['closed']:,} closed (other read calls: {big['other_calls']}). "
              f"Loading took {big['load_s']:.0f} s via batch_write_item (moto)."]
    ok = grows == "does not grow" and all(r["read"] <= r["open"] * 1.05 for r in rows)
    lines += ["", f"Budget: items read ≈ open items (≤ 1.05×) and not growing with history: "
              f"{'✓ pass' if ok else '✗ FAIL'}."]
    section = "\n".join(lines) + "\n"
    if not ok:
        raise BudgetMissed(section)
    return section

