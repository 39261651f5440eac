"""Cold-start import cost: each functions/<name>/app.py vs `import boto3`, in fresh processes.

Each measurement is a new interpreter (no warm module cache), timing only the import statement
(interpreter start-up excluded), median of RUNS. PYTHONPATH is the layer + the repo root, as in
Lambda (layer on the path, function code at the root). The peer, `import boto3`, is what any
Python Lambda that talks to AWS pays at least once; a ratio ≤ 1 means the handler module costs
no more than boto3 alone. The "loaded" columns show what the import pulled in.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
PROBE = (
    "import json, sys, time\n"
    "t = time.perf_counter()\n"
    "import {module}\n"
    "elapsed = time.perf_counter() - t\n"
    "print(json.dumps({{'ms': elapsed * 1000, 'boto3': 'boto3' in sys.modules, 'httpx': 'httpx' in sys.modules,"
    " 'modules': len(sys.modules)}}))\n"
)


def _env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TZ")}
    return {**keep, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)]),
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
            "POWERTOOLS_SERVICE_NAME": "bench"}


BUDGET = 1.5  # each handler's import at most 1.5x `import boto3` (DESIGN.md, issue 17)


def _sample(module: str) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, check=True, timeout=60)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure(module: str, runs: int = RUNS) -> dict[str, object]:
    samples = [_sample(module) for _ in range(runs)]
    return {**samples[-1], "ms": statistics.median(float(s["ms"]) for s in samples)}  # type: ignore[arg-type]


def _paired(module: str, runs: int = RUNS) -> dict[str, object]:
    """`module` and the peer sampled alternately, so each ratio compares two imports made under
    the same machine load (CPU frequency and neighbours drift between runs): median ratio, its
    spread (min-max) and the medians of both."""
    pairs = [(_sample("boto3"), _sample(module)) for _ in range(runs)]
    ratios = sorted(float(m["ms"]) / float(p["ms"]) for p, m in pairs)
    return {**pairs[-1][1], "ms": statistics.median(float(m["ms"]) for _, m in pairs),
            "peer_ms": statistics.median(float(p["ms"]) for p, _ in pairs),
            "ratio": statistics.median(ratios), "low": ratios[0], "high": ratios[-1]}


def _functions() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))


def run() -> str:
    _measure("boto3", runs=1)  # fill the bytecode caches first, so no sample pays for compiling
    peer = _measure("boto3")
    rows = []
    for name in _functions():
        _measure(f"functions.{name}.app", runs=1)
        rows.append((name, _paired(f"functions.{name}.app")))
    lines = [
        "## Cold start: handler module import vs `import boto3`",
        "",
        f"Fresh interpreter per sample, import statement only; each handler sampled {RUNS} times "
        "alternately with the peer, ratio = median of the paired ratios (spread min–max). "
        "PYTHONPATH = layers/common + repo root (bytecode cached, as in a Lambda package). "
        f"Budget: {BUDGET}× per handler.",
        "",
        "| module | import ms (median) | ratio vs boto3 (spread) | boto3 loaded | httpx loaded | modules |",
        "|---|---:|---:|:---:|:---:|---:|",
        f"| peer: `import boto3` | {peer['ms']:.0f} | 1.00× | yes | {'yes' if peer['httpx'] else 'no'} "
        f"| {peer['modules']} |",
    ]
    for name, m in rows:
        lines.append(f"| functions/{name}/app.py | {m['ms']:.0f} | {m['ratio']:.2f}× ({m['low']:.2f}–{m['high']:.2f}) "
                     f"| {'yes' if m['boto3'] else 'no'} | {'yes' if m['httpx'] else 'no'} | {m['modules']} |")
    worst = max(rows, key=lambda r: float(r[1]["ratio"]))
    lines += ["", f"Slowest handler: **{worst[0]}** at **{float(worst[1]['ratio']):.2f}×** "
              "the cost of `import boto3` alone."]
    over = [name for name, m in rows if float(m["ratio"]) > BUDGET]
    section = "\n".join(lines) + "\n"
    if over:
        raise BudgetMissed(section + f"\nOver the {BUDGET}× budget: {', '.join(over)}\n")
    return section


class BudgetMissed(AssertionError):
    """A benchmark's budget is missed: `make bench` fails, with the table in the message."""
