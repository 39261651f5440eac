"""bench_cold_start's verdict: the median of paired CPU-time ratios against `import boto3`, failing
the run for a handler over the 1.5x budget; one burst pair does not decide it. The samples come
from a scripted sampler, so these tests check the arithmetic and the verdict, not the machine."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import pytest

from bench import bench_cold_start as bench


def _sampler(cpu_ms: dict[str, Iterator[float]]) -> Callable[[str], dict[str, object]]:
    def sample(module: str) -> dict[str, object]:
        cpu = next(cpu_ms[module])
        # The handlers' wall time is 10x their CPU time (they waited for a core): the verdict must not read it.
        wall = cpu if module == "boto3" else cpu * 10
        return {"cpu_ms": cpu, "wall_ms": wall, "modules": 400, "loaded": ["boto3"]}

    return sample


def _handlers(monkeypatch: pytest.MonkeyPatch, names: list[str]) -> None:
    monkeypatch.setattr(bench, "_functions", lambda: names)


def test_given_handlers_within_the_budget_then_the_section_lists_each_with_its_median_ratio(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _handlers(monkeypatch, ["fast", "medium"])
    sample = _sampler({
        "boto3": itertools.repeat(100.0),
        "functions.fast.app": itertools.repeat(60.0),
        "functions.medium.app": itertools.cycle([140.0, 150.0, 145.0]),
    })

    section = bench.run(sample)

    assert "| functions/fast/app.py | 60 | 600 | 0.60× (0.60–0.60) |" in section
    assert "| functions/medium/app.py | 145 | 1450 | 1.45× (1.40–1.50) |" in section
    assert "Slowest handler: **medium** at **1.45×**" in section


def test_given_a_handler_over_the_budget_then_the_run_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _handlers(monkeypatch, ["fine", "heavy"])
    sample = _sampler({
        "boto3": itertools.repeat(100.0),
        "functions.fine.app": itertools.repeat(110.0),
        "functions.heavy.app": itertools.repeat(151.0),
    })

    with pytest.raises(bench.BudgetMissed) as raised:
        bench.run(sample)

    assert "Over the 1.5× budget: heavy\n" in str(raised.value)
    assert "1.51×" in str(raised.value)


def test_given_two_burst_pairs_out_of_seven_then_the_median_ratio_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    _handlers(monkeypatch, ["steady"])
    # Warm-up sample, then 7 pairs: two of them caught the handler in a burst (3x).
    handler = iter([120.0, 120.0, 360.0, 120.0, 120.0, 360.0, 120.0, 120.0])
    sample = _sampler({"boto3": itertools.repeat(100.0), "functions.steady.app": handler})

    section = bench.run(sample)

    assert "1.20× (1.20–3.60)" in section


def test_given_the_peer_slowed_in_step_with_the_handler_then_the_paired_ratio_is_unchanged() -> None:
    # A machine that slows down between pairs slows both imports of a pair alike.
    peer = iter([100.0, 200.0, 100.0, 300.0, 100.0])
    handler = iter([130.0, 260.0, 130.0, 390.0, 130.0])
    sample = _sampler({"boto3": peer, "functions.x.app": handler})

    m = bench.paired("functions.x.app", sample, runs=5)

    assert m["ratio"] == pytest.approx(1.3)
    assert (m["low"], m["high"]) == (pytest.approx(1.3), pytest.approx(1.3))
    assert bench.over_budget([("x", m)]) == []


def test_the_budget_and_sample_count_are_the_documented_ones() -> None:
    assert bench.BUDGET == 1.5
    assert bench.RUNS >= 5
