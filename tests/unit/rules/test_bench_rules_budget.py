"""bench_rules enforces its budget (issue 18): `python -m bench` fails when evaluate, hit policy
first, runs below BUDGET_FIRST per second, and says pass otherwise. The verdict is checked with
budgets no machine misses or meets (a few requests, one run), so no timing is asserted."""

from __future__ import annotations

import pytest

from bench import bench_rules


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(bench_rules, "REQUESTS", 40)
    monkeypatch.setattr(bench_rules, "RUNS", 1)


def test_given_a_budget_above_any_rate_when_the_bench_runs_then_it_fails_naming_the_budget(quick, monkeypatch):
    monkeypatch.setattr(bench_rules, "BUDGET_FIRST", 10**12)
    with pytest.raises(bench_rules.BudgetMissed) as missed:
        bench_rules.run()
    assert "**fail**" in str(missed.value)
    assert "the budget is 1,000,000,000,000/s" in str(missed.value)


def test_given_a_budget_any_rate_meets_when_the_bench_runs_then_it_passes(quick, monkeypatch):
    monkeypatch.setattr(bench_rules, "BUDGET_FIRST", 1)
    section = bench_rules.run()
    assert "**pass**" in section and "| evaluate, hit policy first |" in section
