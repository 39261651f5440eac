"""Deadline computations per second: `BusinessCalendar.add_business_time` over starts spread across
2025–2026 (nights, weekends, 国庆, 春节, 调休 days) with SLA-sized durations, against the
minute-walking reference from the unit tests on the same inputs (a baseline, not a peer: no library
handles 调休 make-up workdays), plus a check that both agree on every sampled deadline. Each rate is
the median of RUNS runs with its spread."""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from tests.unit.calendar.calendar_reference import MinuteWalker
from wecom_oa.worktime.calendar import BusinessCalendar, load_calendars

DURATIONS = [timedelta(minutes=30), timedelta(hours=1), timedelta(hours=3), timedelta(hours=8), timedelta(hours=24)]
FIRST = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_MINUTES = 680 * 24 * 60  # up to mid-November 2026: deadlines stay inside chinesecalendar's data


def _inputs(count: int, seed: int) -> list[tuple[datetime, timedelta]]:
    rng = random.Random(seed)
    return [
        (FIRST + timedelta(minutes=rng.randrange(SPAN_MINUTES)), rng.choice(DURATIONS)) for _ in range(count)
    ]


RUNS = 5


def _rate(compute, inputs) -> tuple[float, list[datetime]]:
    started = time.perf_counter()
    results = [compute(start, duration) for start, duration in inputs]
    return len(inputs) / (time.perf_counter() - started), results


def _median(compute, inputs) -> tuple[float, float, float, list[datetime]]:
    """(median, min, max) rate of RUNS runs, and the results of the last."""
    rates, results = [], []
    for _ in range(RUNS):
        rate, results = _rate(compute, inputs)
        rates.append(rate)
    return statistics.median(rates), min(rates), max(rates), results


def _cell(m: tuple[float, float, float, list[datetime]]) -> str:
    return f"{m[0]:,.0f} ({m[1]:,.0f}–{m[2]:,.0f})"


def _hours(duration: timedelta) -> str:
    return f"{duration / timedelta(hours=1):g} h"


def run() -> str:
    config = load_calendars().get("default").config
    inputs = _inputs(20_000, seed=6)
    peer_inputs = inputs[:200]

    warm_calendar = BusinessCalendar(config)
    warm_calendar.add_business_time(FIRST, timedelta(hours=1))
    _rate(warm_calendar.add_business_time, inputs)  # fill the per-day cache once
    warm_m = _median(warm_calendar.add_business_time, inputs)
    cold_m = _median(lambda s, d: BusinessCalendar(config).add_business_time(s, d), inputs[:2_000])
    walker = MinuteWalker(config)
    peer_m = _median(walker.add, peer_inputs)
    ours, theirs = cold_m[3], peer_m[3]
    agree = sum(a == b for a, b in zip(ours[: len(peer_inputs)], theirs, strict=True))
    between_m = _median(warm_calendar.business_time_between, [(s, s + timedelta(days=3)) for s, _ in inputs])
    warm, cold, peer = warm_m[0], cold_m[0], peer_m[0]

    return "\n".join(
        [
            "## Business-time deadlines (`add_business_time`)",
            "",
            "Default calendar (Asia/Shanghai, 09:00–12:00 + 13:00–18:00, chinesecalendar holidays and 调休); "
            f"starts uniform over 2025-01-01 … 2026-11; durations {', '.join(_hours(d) for d in DURATIONS)} "
            "of business time.",
            "",
            f"| measure | computations / s, median of {RUNS} (min–max) |",
            "|---|---:|",
            f"| add_business_time, warm calendar (per-day cache filled) | {_cell(warm_m)} |",
            f"| add_business_time, new calendar per call (cold cache) | {_cell(cold_m)} |",
            f"| business_time_between over 3 days, warm | {_cell(between_m)} |",
            f"| baseline: minute-walking reference (tests/unit/calendar) | {_cell(peer_m)} |",
            "",
            f"Ratio vs the minute-walking baseline: **{warm / peer:,.0f}×** warm, **{cold / peer:,.0f}×** cold; "
            f"both agree on {agree}/{len(peer_inputs)} sampled deadlines.",
            "",
        ]
    )


if __name__ == "__main__":
    print(run())
