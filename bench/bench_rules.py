"""Approval rule evaluations per second on a generated 50-row decision table (first and collect).

Each evaluation is the full `evaluate()` a submission does: form validation, inputs, row matching
(the rule set's index, compiled once), route resolution through a StaticDirectory, explanation text.
A dry run (POST /approvals/evaluate) also serialises the Decision, which builds the trace of every
examined row: measured as its own case. Peers in the same run: the engine before the index (the
frozen full-scan copy in tests/unit/rules/rules_reference.py, whose decisions must equal ours on
every request here) and a hand-written Python if-chain over the same 50 conditions (matching only,
the floor a table engine can approach), next to the index's matching alone. Rates are per CPU
second of this process (`time.process_time`, so neighbours on a shared machine do not count), median
of RUNS runs with the spread. Budget (issue 18): evaluate, hit policy first, median >= 20,000/s.
Lint time of the same table is reported too.
"""

from __future__ import annotations

import random
import statistics
import time
from decimal import Decimal
from pathlib import Path

from tests.unit.rules import rules_reference
from wecom_oa.approvals.rules import (
    ApprovalRequest,
    EvaluationContext,
    RuleSet,
    _input_values,
    _match,
    evaluate,
)
from wecom_oa.approvals.rules_lint import lint_ruleset
from wecom_oa.directory import StaticDirectory

ROWS = 50
REQUESTS = 2_000
RUNS = 7
BUDGET_FIRST = 20_000
CATEGORIES = ["office", "it", "travel", "training", "other"]
FIXTURE_DIRECTORY = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "directory.yaml"


class BudgetMissed(AssertionError):
    """A benchmark's budget is missed: `make bench` fails, with the table in the message."""


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
    started = time.process_time()
    for item in items:
        fn(item)
    return len(items) / (time.process_time() - started)


def _rates(fn, items) -> tuple[float, float, float]:
    """(median, min, max) of RUNS rates."""
    rates = sorted(_rate(fn, items) for _ in range(RUNS))
    return statistics.median(rates), rates[0], rates[-1]


def _cell(m: tuple[float, float, float]) -> str:
    return f"{m[0]:,.0f} | {m[1]:,.0f}–{m[2]:,.0f}"


def _same_decisions(ruleset: RuleSet, requests: list[ApprovalRequest], context: EvaluationContext) -> None:
    for request in requests:
        ours = evaluate(ruleset, request, context).model_dump(mode="json")
        theirs = rules_reference.evaluate(ruleset, request, context).model_dump(mode="json")
        if ours != theirs:
            raise AssertionError(f"{ruleset.hit_policy}: {request.form} decided differently from the reference")


def run() -> str:
    context = EvaluationContext(directory=StaticDirectory.from_yaml(FIXTURE_DIRECTORY))
    requests = _requests()
    lines = ["## Approval rules (bench_rules)", "",
             f"{ROWS}-row decision table, {REQUESTS} requests with random amounts and categories. Evaluations per CPU "
             f"second, median of {RUNS} runs (spread min–max). Every decision (trace included) equals the old "
             "engine's on these requests.", "",
             "| case | evaluations/s | spread | lint (ms) |", "|---|---:|---|---:|"]
    rates = {}
    for policy in ("first", "collect"):
        ruleset = _table(policy)
        evaluate(ruleset, requests[0], context)  # compile cells and index once, as a warm Lambda would
        _same_decisions(ruleset, requests, context)
        rates[policy] = _rates(lambda r, rs=ruleset: evaluate(rs, r, context), requests)
        dry_run = _rates(lambda r, rs=ruleset: evaluate(rs, r, context).model_dump(mode="json"), requests)
        old = _rates(lambda r, rs=ruleset: rules_reference.evaluate(rs, r, context), requests)
        old_dry_run = _rates(lambda r, rs=ruleset: rules_reference.evaluate(rs, r, context).model_dump(mode="json"),
                             requests)
        started = time.perf_counter()
        findings = lint_ruleset(ruleset, file=f"{policy}.yaml")
        lint_ms = (time.perf_counter() - started) * 1000
        errors = [f for f in findings if f.severity == "error"]
        lines.append(f"| evaluate, hit policy {policy} | {_cell(rates[policy])} | {lint_ms:.1f}"
                     f"{' (' + str(len(errors)) + ' findings)' if errors else ''} |")
        lines.append(f"| evaluate + JSON body with the full trace (a dry run), {policy} | {_cell(dry_run)} | — |")
        lines.append(f"| peer: the engine before the index (full scan, every row traced), {policy} | {_cell(old)} | — |")
        lines.append(f"| peer: the engine before the index + JSON body, {policy} | {_cell(old_dry_run)} | — |")
    ruleset = _table("first")
    compiled = ruleset.compiled()
    applicant = context.directory.user("zhangsan")
    values = [_input_values(ruleset, compiled, r.form, applicant, context.directory) for r in requests]
    matching = _rates(lambda v: _match(compiled, v, first=True), values)
    plain = [(Decimal(r.form["amount"]), r.form["category"]) for r in requests]
    peer = _rates(lambda p: _if_chain(*p), plain)
    lines.append(f"| index matching only (typed inputs, compiled table, first) | {_cell(matching)} | — |")
    lines.append(f"| peer: hand-written if-chain (matching only) | {_cell(peer)} | — |")
    first = rates["first"][0]
    verdict = "pass" if first >= BUDGET_FIRST else "fail"
    lines += ["", f"Ratio if-chain / evaluate(first): {peer[0] / first:.1f}× (the table engine also validates, "
              f"resolves the route and writes the explanation); collect / first: {rates['collect'][0] / first:.2f}. "
              f"Budget: evaluate, hit policy first, median ≥ {BUDGET_FIRST:,}/s: **{verdict}** ({first:,.0f}/s)."]
    section = "\n".join(lines) + "\n"
    if verdict == "fail":
        raise BudgetMissed(section + f"\nevaluate (first) ran {first:,.0f}/s; the budget is {BUDGET_FIRST:,}/s.\n")
    return section


if __name__ == "__main__":
    print(run())
