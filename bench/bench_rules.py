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
from typing import Any

from bench import BudgetMissed
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
RUNS = 9
BUDGET_FIRST = 20_000
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
    started = time.process_time()
    for item in items:
        fn(item)
    return len(items) / (time.process_time() - started)


def _interleaved(cases: dict[str, tuple[Any, list[Any]]]) -> dict[str, tuple[float, float, float]]:
    """(median, min, max) of RUNS rates per case, the cases taking turns in every run, so a burst of
    load from a neighbour falls on all of them rather than on one case's runs."""
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(RUNS):
        for name, (fn, items) in cases.items():
            samples[name].append(_rate(fn, items))
    return {name: (statistics.median(r), min(r), max(r)) for name, r in samples.items()}


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
    tables = {policy: _table(policy) for policy in ("first", "collect")}
    cases: dict[str, tuple[Any, list[Any]]] = {}
    for policy, ruleset in tables.items():
        evaluate(ruleset, requests[0], context)  # compile cells and index once, as a warm Lambda would
        _same_decisions(ruleset, requests, context)
        cases[f"evaluate {policy}"] = (lambda r, rs=ruleset: evaluate(rs, r, context), requests)
        cases[f"dry run {policy}"] = (lambda r, rs=ruleset: evaluate(rs, r, context).model_dump(mode="json"), requests)
        cases[f"old {policy}"] = (lambda r, rs=ruleset: rules_reference.evaluate(rs, r, context), requests)
        cases[f"old dry run {policy}"] = (
            lambda r, rs=ruleset: rules_reference.evaluate(rs, r, context).model_dump(mode="json"), requests)
    compiled = tables["first"].compiled()
    applicant = context.directory.user("zhangsan")
    values = [_input_values(tables["first"], compiled, r.form, applicant, context.directory) for r in requests]
    cases["matching"] = (lambda v: _match(compiled, v, first=True), values)
    cases["if-chain"] = (lambda p: _if_chain(*p), [(Decimal(r.form["amount"]), r.form["category"]) for r in requests])
    m = _interleaved(cases)
    for policy, ruleset in tables.items():
        started = time.perf_counter()
        findings = lint_ruleset(ruleset, file=f"{policy}.yaml")
        lint_ms = (time.perf_counter() - started) * 1000
        errors = [f for f in findings if f.severity == "error"]
        lines.append(f"| evaluate, hit policy {policy} | {_cell(m[f'evaluate {policy}'])} | {lint_ms:.1f}"
                     f"{' (' + str(len(errors)) + ' findings)' if errors else ''} |")
        lines.append(f"| evaluate + JSON body with the full trace (a dry run), {policy} | {_cell(m[f'dry run {policy}'])} "
                     "| — |")
        lines.append(f"| peer: the engine before the index (full scan, every row traced), {policy} | "
                     f"{_cell(m[f'old {policy}'])} | — |")
        lines.append(f"| peer: the engine before the index + JSON body, {policy} | {_cell(m[f'old dry run {policy}'])} "
                     "| — |")
    lines.append(f"| index matching only (typed inputs, compiled table, first) | {_cell(m['matching'])} | — |")
    lines.append(f"| peer: hand-written if-chain (matching only) | {_cell(m['if-chain'])} | — |")
    rates = {policy: m[f"evaluate {policy}"] for policy in tables}
    peer = m["if-chain"]
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
