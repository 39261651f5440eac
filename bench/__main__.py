"""Run every bench/bench_*.py, print the sections and write bench/RESULTS.md."""

from __future__ import annotations

import importlib
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = set(sys.argv[1:])
    sections = [f"# Benchmark results\n\nCommand: `make bench` · {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} · "
                f"Python {platform.python_version()} on {platform.machine()} ({platform.processor() or 'cpu'})\n"]
    failed = 0
    for path in sorted(HERE.glob("bench_*.py")):
        if only and path.stem not in only:
            continue
        module = importlib.import_module(f"bench.{path.stem}")
        started = time.perf_counter()
        try:
            section = module.run()
        except Exception as exc:  # noqa: BLE001 - report and continue with the other benchmarks
            failed += 1
            section = f"## {path.stem}\n\nFAILED: {type(exc).__name__}: {exc}\n"
        print(section, flush=True)
        sections.append(section.rstrip() + f"\n\n_(took {time.perf_counter() - started:.1f} s)_\n")
    (HERE / "RESULTS.md").write_text("\n".join(sections), encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
