"""Workflow unlocks: DynamoDB calls per task done are constant, however many workflows are running.

In-process moto with the whole template deployed (like tests' `local_app`) and the WeCom sandbox.
A 100-task template (each task waits for the one before it and the one ten before, so a task done
unlocks at most two) is started once through the service; around it, N other running workflows of
the same template are loaded straight into the table (META + 100 steps each). Then tasks are done
one after another through `POST /workflows/{id}/tasks/{key}/done`'s service call, each unlocking
its successor, and every DynamoDB call the done makes is counted at the boto3 client (the task's
own close and card, the workflow's step writes). The counts must be equal at N = 10 and N = 1000:
nothing reads across workflows. The baseline is the obvious stateless design that recomputes what
to unlock from all of the workflow's steps on every done (a Query of 100 items each time).
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench import BudgetMissed

BACKGROUND = [10, 1_000]
TASKS = 100
DONES = 6  # tasks done (and unlocks) measured per scenario, after the first
BATCH = 25


def _template() -> Any:
    from wecom_oa.workflows.templates import parse_template

    tasks = [{"key": f"t{i:03d}", "title": f"任务 {i}", "role": "it", "due": f"{1 + i}h",
              "after": [f"t{j:03d}" for j in (i - 1, i - 10) if j >= 0]} for i in range(TASKS)]
    return parse_template({"key": "bench100", "name": "基准", "group": "service-desk", "owner_role": "it",
                           "roles": {"it": {"users": ["lisi"], "label": "IT"}}, "tasks": tasks}, "bench100.yaml")


def _load_background(client: Any, table: str, n: int) -> None:
    items = []
    for w in range(n):
        wid = f"WFBG{w:05d}"
        items.append({"pk": {"S": f"WORKFLOW#{wid}"}, "sk": {"S": "META"}, "entity": {"S": "workflow"},
                      "id": {"S": wid}, "template": {"S": "bench100"}, "status": {"S": "running"},
                      "total": {"N": str(TASKS)}, "done_count": {"N": "0"}})
        items += [{"pk": {"S": f"WORKFLOW#{wid}"}, "sk": {"S": f"STEP#t{i:03d}"}, "key": {"S": f"t{i:03d}"},
                   "state": {"S": "locked"}, "owner": {"S": "lisi"}} for i in range(TASKS)]
    for i in range(0, len(items), BATCH):
        client.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": it}} for it in items[i:i + BATCH]]})


def _scenario(background: int) -> dict[str, Any]:
    from unittest import mock

    from bench.bench_sfn_transitions import _local_app
    from wecom_oa.aws.dynamo import app_table
    from wecom_oa.workflows import service
    from wecom_oa.workflows.models import StartWorkflow

    template = _template()
    with _local_app(datetime(2026, 12, 7, 1, 0, tzinfo=UTC), 1.0), \
            mock.patch.object(service, "shipped", return_value={"bench100": template}):
        table = app_table()
        _load_background(table.client, table.name, background)
        wf = service.start(StartWorkflow(template="bench100"))
        calls: Counter[str] = Counter()

        def count(params: dict[str, Any], model: Any, **_: Any) -> None:
            # The directory cache re-reads the shared directory version once per interval of
            # (virtual) time, whatever runs: a clock read, not part of the unlock.
            if (params.get("Key") or {}).get("pk") == {"S": "DIRECTORY#version"}:
                calls["directory version check"] += 1
            else:
                calls[model.name] += 1

        table.client.meta.events.register("provide-client-params.dynamodb", count)
        per_done: list[Counter[str]] = []
        for i in range(DONES + 1):
            calls.clear()
            after = service.done_step(wf["id"], f"t{i:03d}", "lisi")
            per_done.append(Counter(calls))
        table.client.meta.events.unregister("provide-client-params.dynamodb", count)
        states = {t["key"]: t["state"] for t in after["tasks"]}
        assert states[f"t{DONES + 1:03d}"] == "open", "the measured dones did not unlock their successor"
        measured = per_done[1:]  # the first done also builds caches (directory, templates)
        # done_step returns the workflow's view (one Query of its partition): the API's answer, not the unlock.
        reads = [c["GetItem"] + c["Query"] - 1 for c in measured]
        writes = [c["PutItem"] + c["UpdateItem"] + c["DeleteItem"] + c["TransactWriteItems"] for c in measured]
        return {"background": background, "reads": statistics.median(reads), "writes": statistics.median(writes),
                "spread": (min(reads), max(reads), min(writes), max(writes)),
                "ops": dict(sum(measured, Counter()))}



def run() -> str:
    rows = [_scenario(n) for n in BACKGROUND]
    lines = [
        "## Workflow unlocks: DynamoDB calls per task done vs running workflows",
        "",
        f"A {TASKS}-task template; {DONES} tasks done in a row, each unlocking its successor; calls counted at "
        "the boto3 client (median per done, spread min–max; the view's Query that the API answers with "
        "is not counted, nor the directory cache's periodic version check). Baseline: recomputing the unlocks from all steps reads "
        f"{TASKS} items per done.",
        "",
        "| running workflows | reads per done | writes per done | spread (reads; writes) | items a recompute would read |",
        "|---:|---:|---:|---|---:|",
    ]
    for r in rows:
        lo_r, hi_r, lo_w, hi_w = r["spread"]
        lines.append(f"| {r['background']:,} | {r['reads']:.0f} | {r['writes']:.0f} | {lo_r}–{hi_r}; {lo_w}–{hi_w} "
                     f"| {TASKS} |")
    section = "\n".join(lines) + "\n"
    if len({(r["reads"], r["writes"]) for r in rows}) != 1:
        raise BudgetMissed(section + "\nCalls per done change with the number of running workflows.\n")
    return section
