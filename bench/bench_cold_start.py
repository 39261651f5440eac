"""Cold-start import cost: each functions/<name>/app.py vs `import boto3`, in fresh processes.

Each measurement is a new interpreter (no warm module cache), timing only the import statement
(interpreter start-up excluded). PYTHONPATH is the layer + the repo root, as in Lambda (layer on the
path, function code at the root). The peer, `import boto3`, is what any Python Lambda that talks to
AWS pays at least once; a ratio ≤ 1 means the handler module costs no more than boto3 alone. The
"loaded" columns show what the import pulled in: a handler that imports pydantic or boto3 with its
first event instead (every event of approval_branch, notifier and digest needs both) pays for them
in that invocation rather than in the init phase, which this import-only ratio does not see.

The ratio is taken on the process's CPU time (user + system): on a shared machine the wall-clock
time of an import counts the time the process waited for a core (another engineer's test run), and
a single burst decided a pair. Wall-clock medians are shown beside it. Each handler is sampled
RUNS times alternately with the peer (same machine state for both of a pair); the verdict is the
median of the paired ratios, the spread is their min–max.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from bench import BudgetMissed

ROOT = Path(__file__).resolve().parent.parent
RUNS = 7
BUDGET = 1.5  # each handler's import at most 1.5x `import boto3` (DESIGN.md, issue 17)
WATCHED = ("boto3", "pydantic", "httpx")  # reported as "loaded" columns
PROBE = (
    "import json, sys, time\n"
    "c, t = time.process_time(), time.perf_counter()\n"
    "import {module}\n"
    "cpu, wall = time.process_time() - c, time.perf_counter() - t\n"
    "print(json.dumps({{'cpu_ms': cpu * 1000, 'wall_ms': wall * 1000, 'modules': len(sys.modules),"
    " 'loaded': [m for m in {watched!r} if m in sys.modules]}}))\n"
)

Sample = Mapping[str, object]


def _env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {
        **keep,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)]),
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "bench",
    }


def _sample(module: str) -> Sample:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, watched=WATCHED)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def paired(module: str, sample: Callable[[str], Sample] = _sample, runs: int = RUNS) -> dict[str, object]:
    """`module` and the peer sampled alternately, so each ratio compares two imports made under
    the same machine state: median CPU-time ratio, its spread (min-max), the medians of both."""
    pairs = [(sample("boto3"), sample(module)) for _ in range(runs)]
    ratios = sorted(float(m["cpu_ms"]) / float(p["cpu_ms"]) for p, m in pairs)
    return {
        "modules": pairs[-1][1]["modules"],
        "loaded": pairs[-1][1]["loaded"],
        "cpu_ms": statistics.median(float(m["cpu_ms"]) for _, m in pairs),
        "wall_ms": statistics.median(float(m["wall_ms"]) for _, m in pairs),
        "peers": [p for p, _ in pairs],
        "ratio": statistics.median(ratios),
        "low": ratios[0],
        "high": ratios[-1],
    }


def over_budget(rows: Sequence[tuple[str, Mapping[str, object]]], budget: float = BUDGET) -> list[str]:
    """The handlers whose median ratio exceeds the budget."""
    return [name for name, m in rows if float(m["ratio"]) > budget]  # type: ignore[arg-type]


def _functions() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))


def _yes(m: Mapping[str, object], key: str, name: str) -> str:
    return "yes" if name in m[key] else "no"  # type: ignore[operator]


def table(rows: Sequence[tuple[str, Mapping[str, object]]]) -> str:
    peers = [p for _, m in rows for p in m["peers"]]  # type: ignore[attr-defined]
    peer_cpu, peer_wall = (statistics.median(float(p[k]) for p in peers) for k in ("cpu_ms", "wall_ms"))
    lines = [
        "## Cold start: handler module import vs `import boto3`",
        "",
        f"Fresh interpreter per sample, import statement only; each handler sampled {RUNS} times "
        "alternately with the peer, ratio = median of the paired ratios of CPU time (spread min–max); "
        "wall-clock medians beside it. PYTHONPATH = layers/common + repo root (bytecode cached, as in a "
        f"Lambda package). Budget: {BUDGET}× per handler. The ratio counts the init phase only: a handler "
        "whose import loads no pydantic or boto3 here loads them with the first event that needs them.",
        "",
        "| module | import CPU ms (median) | wall ms (median) | ratio vs boto3 (spread) | "
        + " | ".join(f"{w} loaded" for w in WATCHED)
        + " | modules |",
        "|---|---:|---:|---:|" + ":---:|" * len(WATCHED) + "---:|",
        f"| peer: `import boto3` | {peer_cpu:.0f} | {peer_wall:.0f} | 1.00× | "
        + " | ".join(_yes(peers[-1], "loaded", w) for w in WATCHED)
        + f" | {peers[-1]['modules']} |",
    ]
    for name, m in rows:
        lines.append(
            f"| functions/{name}/app.py | {m['cpu_ms']:.0f} | {m['wall_ms']:.0f} | "
            f"{m['ratio']:.2f}× ({m['low']:.2f}–{m['high']:.2f}) | "
            + " | ".join(_yes(m, "loaded", w) for w in WATCHED)
            + f" | {m['modules']} |"
        )
    worst = max(rows, key=lambda r: float(r[1]["ratio"]))  # type: ignore[arg-type]
    lines += [
        "",
        f"Slowest handler: **{worst[0]}** at **{float(worst[1]['ratio']):.2f}×** "  # type: ignore[arg-type]
        "the cost of `import boto3` alone.",
    ]
    return "\n".join(lines) + "\n"


def run(sample: Callable[[str], Sample] = _sample) -> str:
    sample("boto3")  # fill the bytecode caches first, so no sample pays for compiling
    rows = []
    for name in _functions():
        sample(f"functions.{name}.app")
        rows.append((name, paired(f"functions.{name}.app", sample)))
    section = table(rows)
    over = over_budget(rows)
    if over:
        raise BudgetMissed(section + f"\nOver the {BUDGET}× budget: {', '.join(over)}\n")
    return section

