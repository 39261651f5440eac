"""Deadline computations per second: `BusinessCalendar.add_business_time` over starts spread across
2025–2026 (nights, weekends, 国庆, 春节, 调休 days) with SLA-sized durations, against the
minute-walking reference from the unit tests (the peer) on the same inputs, plus a check that both
agree on every sampled deadline."""

from __future__ import annotations

import random
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


def _rate(compute, inputs) -> tuple[float, list[datetime]]:
    started = time.perf_counter()
    results = [compute(start, duration) for start, duration in inputs]
    return len(inputs) / (time.perf_counter() - started), results


def _hours(duration: timedelta) -> str:
    return f"{duration / timedelta(hours=1):g} h"


def run() -> str:
    config = load_calendars().get("default").config
    inputs = _inputs(20_000, seed=6)
    peer_inputs = inputs[:200]

    warm_calendar = BusinessCalendar(config)
    warm_calendar.add_business_time(FIRST, timedelta(hours=1))
    _rate(warm_calendar.add_business_time, inputs)  # fill the per-day cache once
    warm, _ = _rate(warm_calendar.add_business_time, inputs)
    cold, ours = _rate(lambda s, d: BusinessCalendar(config).add_business_time(s, d), inputs[:2_000])
    walker = MinuteWalker(config)
    peer, theirs = _rate(walker.add, peer_inputs)
    agree = sum(a == b for a, b in zip(ours[: len(peer_inputs)], theirs, strict=True))
    between, _ = _rate(warm_calendar.business_time_between, [(s, s + timedelta(days=3)) for s, _ in inputs])

    return "\n".join(
        [
            "## Business-time deadlines (`add_business_time`)",
            "",
            "Default calendar (Asia/Shanghai, 09:00–12:00 + 13:00–18:00, chinesecalendar holidays and 调休); "
            f"starts uniform over 2025-01-01 … 2026-11; durations {', '.join(_hours(d) for d in DURATIONS)} "
            "of business time.",
            "",
            "| measure | computations / s |",
            "|---|---:|",
            f"| add_business_time, warm calendar (per-day cache filled) | {warm:,.0f} |",
            f"| add_business_time, new calendar per call (cold cache) | {cold:,.0f} |",
            f"| business_time_between over 3 days, warm | {between:,.0f} |",
            f"| peer: minute-walking reference (tests/unit/calendar) | {peer:,.0f} |",
            "",
            f"Ratio vs the minute-walking peer: **{warm / peer:,.0f}×** warm, **{cold / peer:,.0f}×** cold; "
            f"both agree on {agree}/{len(peer_inputs)} sampled deadlines.",
            "",
        ]
    )


if __name__ == "__main__":
    print(run())
