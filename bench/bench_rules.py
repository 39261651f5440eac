"""Approval rule evaluations per second on a generated 50-row decision table (first and collect).

Each evaluation is the full `evaluate()` a dry run does: form validation, inputs, row matching,
route resolution through a StaticDirectory, explanation text. The peer is a hand-written Python
if-chain over the same 50 conditions (no route, no explanation): the floor a table engine can
approach, measured in the same run. Lint time of the same table is reported too.
"""

from __future__ import annotations

import random
import time
from decimal import Decimal
from pathlib import Path

from wecom_oa.approvals.rules import ApprovalRequest, EvaluationContext, RuleSet, evaluate
from wecom_oa.approvals.rules_lint import lint_ruleset
from wecom_oa.directory import StaticDirectory

ROWS = 50
REQUESTS = 2_000
CATEGORIES = ["office", "it", "travel", "training", "other"]
FIXTURE_DIRECTORY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "directory.yaml"


def _table(policy: str) -> RuleSet:
    rows = []
    for i in range(ROWS - 1):
        low = i * 100
        high = low + (100 if policy == "first" else 1000)
        category = '"' + CATEGORIES[i % len(CATEGORIES)] + '"' if i % 2 else "-"
        rows.append({"id": f"r{i}", "when": {"amount": f"[{low}..{high})", "category": category},
                     "outcome": "route", "route": ["head" if i % 3 else "finance"]})
    rows.append({"id": "rest", "when": {}, "outcome": "route", "route": ["head"]})
    return RuleSet.model_validate({
        "type": "purchase", "version": 1, "hit_policy": policy,
        "inputs": {"amount": {"type": "money", "domain": ">= 0"},
                   "category": {"type": "enum", "values": CATEGORIES}},
        "stages": {"head": {"name": "部门负责人审批", "approvers": ["department_head"]},
                   "finance": {"name": "财务审批", "approvers": ["role:财务"]}},
        "rows": rows,
    })


def _requests() -> list[ApprovalRequest]:
    rng = random.Random(7)
    return [
        ApprovalRequest(type="purchase", applicant="zhangsan",
                        form={"amount": str(Decimal(rng.randrange(0, 600_000)) / 100), "category": rng.choice(CATEGORIES)})
        for _ in range(REQUESTS)
    ]


def _if_chain(amount: Decimal, category: str) -> str:
    for i in range(ROWS - 1):
        low = i * 100
        if low <= amount < low + 100 and (i % 2 == 0 or category == CATEGORIES[i % len(CATEGORIES)]):
            return f"r{i}"
    return "rest"


def _rate(fn, items) -> float:
    started = time.perf_counter()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - started)


def run() -> str:
    context = EvaluationContext(directory=StaticDirectory.from_yaml(FIXTURE_DIRECTORY))
    requests = _requests()
    lines = ["## Approval rules (bench_rules)", "",
             f"{ROWS}-row decision table, {REQUESTS} requests with random amounts and categories.", "",
             "| case | evaluations/s | lint (ms) |", "|---|---:|---:|"]
    rates = {}
    for policy in ("first", "collect"):
        ruleset = _table(policy)
        evaluate(ruleset, requests[0], context)  # compile cells once, as a warm Lambda would
        rates[policy] = _rate(lambda r, rs=ruleset: evaluate(rs, r, context), requests)
        started = time.perf_counter()
        findings = lint_ruleset(ruleset, file=f"{policy}.yaml")
        lint_ms = (time.perf_counter() - started) * 1000
        errors = [f for f in findings if f.severity == "error"]
        lines.append(f"| evaluate, hit policy {policy} | {rates[policy]:,.0f} | {lint_ms:.1f}"
                     f"{' (' + str(len(errors)) + ' findings)' if errors else ''} |")
    plain = [(Decimal(r.form["amount"]), r.form["category"]) for r in requests]
    peer = _rate(lambda p: _if_chain(*p), plain)
    lines.append(f"| peer: hand-written if-chain (matching only) | {peer:,.0f} | — |")
    lines += ["", f"Ratio if-chain / evaluate(first): {peer / rates['first']:.1f}× "
              f"(the table engine also validates, resolves the route and writes the explanation); "
              f"collect / first: {rates['collect'] / rates['first']:.2f}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(run())
