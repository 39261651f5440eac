"""List reads vs history: `GET /approvals` pages read about their size, whatever the history.

In-process moto with the AppTable of template.yaml (same keys and indexes). Approvals are stored
through `ApprovalRepository.create` (the META item with its list keys and entries, as `submit`
stores them), spread over applicants, approvers, statuses and types. Each filter's first pages of
`approvals.lists.list_approvals` are measured by counting, at the boto3 client, the items every
Query evaluated (`ScannedCount`) and every BatchGetItem returned; the peer is the filtered table
Scan that would find the same approvals without the indexes (it reads the whole table).
Budget: a page reads at most limit + 1 index entries and as many approvals with one filter, at most
4 x limit + 1 with two, and the same at both history sizes.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

HISTORY = [500, 3_000]
LIMIT = 20
PAGES = 3
APPLICANTS = ["zhangsan", "lisi", "wangwu", "chenjing", "zhaoliu"]
STATUSES = ["approved", "approved", "rejected", "pending", "withdrawn", "approved", "auto_rejected"]
TYPES = ["expense", "leave", "expense", "onboarding"]
APPROVERS = ["lina", "zhoujie", "liuyang"]
FILTERS: list[tuple[str, dict[str, str], int]] = [
    ("(none)", {}, LIMIT + 1),
    ("status=approved", {"status": "approved"}, LIMIT + 1),
    ("status=pending", {"status": "pending"}, LIMIT + 1),
    ("type=leave", {"approval_type": "leave"}, LIMIT + 1),
    ("applicant=zhangsan", {"applicant": "zhangsan"}, LIMIT + 1),
    ("approver=lina", {"approver": "lina"}, LIMIT + 1),
    ("applicant=lisi&status=approved", {"applicant": "lisi", "status": "approved"}, 4 * LIMIT + 1),
    ("approver=zhoujie&type=expense", {"approver": "zhoujie", "approval_type": "expense"}, 4 * LIMIT + 1),
]
START = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)


def _approval(i: int) -> dict[str, Any]:
    approver = APPROVERS[i % 3]
    return {"id": f"AP2026-{i:07d}", "type": TYPES[i % 4], "applicant": APPLICANTS[i % 5],
            "status": STATUSES[i % 7], "outcome": "route", "channel": "app",
            "created_at": (START + timedelta(minutes=3 * i)).isoformat(), "form": {"amount": 100 + i, "reason": "差旅"},
            "stages": {"1": {"index": 1, "approvers": [approver], "round_approvers": [approver], "status": "open"}}}


class ReadCounter:
    def __init__(self, client: Any) -> None:
        self.items: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        client.meta.events.register("after-call.dynamodb", self._after)

    def _after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name in ("Query", "Scan"):
            self.items[model.name] += int(parsed.get("ScannedCount", 0))
        elif model.name == "BatchGetItem":
            self.items[model.name] += sum(len(v) for v in parsed.get("Responses", {}).values())
        elif model.name == "GetItem":
            self.items[model.name] += 1 if parsed.get("Item") else 0

    def reset(self) -> None:
        self.items.clear()
        self.calls.clear()


def _peer_scan(client: Any, table: str, filters: dict[str, str]) -> int:
    """Items a filtered Scan of the table evaluates to find the same approvals (every item)."""
    names = {"#e": "entity", "#pk": "pk"}
    values: dict[str, Any] = {":m": {"S": "META"}, ":p": {"S": "APPROVAL#"}}
    expr = ["begins_with(#pk, :p)", "sk = :m"]
    for i, (k, v) in enumerate(filters.items()):
        if k == "approver":
            continue  # a Scan cannot even say it: it reads the same and filters in code
        names[f"#f{i}"] = "type" if k == "approval_type" else k
        values[f":f{i}"] = {"S": v}
        expr.append(f"#f{i} = :f{i}")
    names.pop("#e")
    kwargs: dict[str, Any] = {"TableName": table, "FilterExpression": " AND ".join(expr),
                              "ExpressionAttributeNames": names, "ExpressionAttributeValues": values,
                              "Select": "COUNT"}
    scanned = 0
    while True:
        page = client.scan(**kwargs)
        scanned += page["ScannedCount"]
        if "LastEvaluatedKey" not in page:
            return scanned
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _scenario(history: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from bench.bench_digest_reads import _create_app_table
    from wecom_oa.aws.dynamo import reset_tables
    from wecom_oa.settings import reset_settings

    name = "bench-list-app"
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
            from wecom_oa.approvals.lists import list_approvals
            from wecom_oa.approvals.store import ApprovalRepository
            from wecom_oa.aws.dynamo import app_table

            repo = ApprovalRepository(app_table())
            t0 = time.perf_counter()
            for i in range(history):
                item = _approval(i)
                repo.create(item, open_due_iso=item["created_at"] if item["status"] == "pending" else None)
            load_s = time.perf_counter() - t0
            counter = ReadCounter(app_table().client)
            rows = []
            for label, filters, budget in FILTERS:
                cursor, worst, shown, calls, t0 = None, 0, 0, Counter(), time.perf_counter()
                for _ in range(PAGES):
                    counter.reset()
                    page = list_approvals(**filters, limit=LIMIT, cursor=cursor)
                    worst = max(worst, counter.items["Query"], counter.items["BatchGetItem"])
                    calls += counter.calls
                    shown += page["count"]
                    cursor = page["next_cursor"]
                    if cursor is None:
                        break
                ms = (time.perf_counter() - t0) * 1000 / PAGES
                rows.append({"label": label, "budget": budget, "worst": worst, "shown": shown,
                             "queries": calls["Query"], "gets": calls["BatchGetItem"],
                             "others": sum(v for k, v in calls.items() if k not in ("Query", "BatchGetItem")),
                             "peer": _peer_scan(client, name, filters), "ms": ms})
            return {"history": history, "load_s": load_s, "rows": rows, "items": client.describe_table(
                TableName=name)["Table"].get("ItemCount", 0)}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        reset_settings()
        reset_tables()


def run() -> str:
    runs = [_scenario(h) for h in HISTORY]
    lines = [
        "## List reads vs history (GET /approvals)",
        "",
        f"moto, AppTable from template.yaml; {PAGES} pages of `limit={LIMIT}` per filter. Items read per page = the "
        "larger of Query `ScannedCount` and BatchGetItem items, counted at the boto3 client; peer = the filtered "
        "table Scan that finds the same approvals without indexes.",
        "",
        "| approvals stored | filter | shown | worst items read / page | budget | Query + BatchGet calls | "
        "other calls | peer Scan items read | time / page (moto) |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    failures = []
    for r in runs:
        for row in r["rows"]:
            lines.append(f"| {r['history']:,} | `{row['label']}` | {row['shown']} | {row['worst']} | {row['budget']} | "
                         f"{row['queries']} + {row['gets']} | {row['others']} | {row['peer']:,} | {row['ms']:.0f} ms |")
            if row["worst"] > row["budget"] or row["others"]:
                failures.append(f"{row['label']} at {r['history']}: read {row['worst']} > {row['budget']}")
    small, big = runs[0]["rows"], runs[-1]["rows"]
    grown = [a["label"] for a, b in zip(small, big, strict=True) if b["worst"] > a["budget"]]
    lines += ["", f"Worst items read per page at {HISTORY[-1]:,} approvals vs {HISTORY[0]:,}: "
              + ", ".join(f"`{a['label']}` {a['worst']} → {b['worst']}" for a, b in zip(small, big, strict=True))
              + f". Loading {HISTORY[-1]:,} approvals took {runs[-1]['load_s']:.0f} s (moto)."]
    if failures or grown:
        raise AssertionError("list reads over budget: " + "; ".join(failures + grown))
    return "\n".join(lines) + "\n"
