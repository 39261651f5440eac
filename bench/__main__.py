"""Run every bench/bench_*.py (or those named) and print their sections; a section whose budget is
missed raises and the run exits 1. With --write (`make bench-results`) the sections also go to
bench/RESULTS.md; without it the work tree is left as it was."""

from __future__ import annotations

import importlib
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    args = sys.argv[1:]
    write = "--write" in args
    only = {a for a in args if a != "--write"}
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
        sections.append(f"<!-- {path.stem} -->\n" + section.rstrip()
                        + f"\n\n_(took {time.perf_counter() - started:.1f} s)_\n")
    if not write:
        print("bench: FAIL" if failed else "bench: every budget met", f"({failed} failed)" if failed else "")
        return 1 if failed else 0
    results = HERE / "RESULTS.md"
    if only and results.exists():  # a partial run replaces its own sections and keeps the others
        sections = _splice(results.read_text(encoding="utf-8"), sections[1:])
    results.write_text("\n".join(sections), encoding="utf-8")
    print(f"wrote {HERE / 'RESULTS.md'}")
    return 1 if failed else 0


def _splice(existing: str, new_sections: list[str]) -> list[str]:
    kept = existing.rstrip() + "\n"
    for section in new_sections:
        marker = section.split("\n", 1)[0]
        start = kept.find(marker)
        if start < 0:
            kept += "\n" + section
            continue
        end = kept.find("<!-- bench_", start + len(marker))
        kept = kept[:start] + section + ("\n" + kept[end:] if end >= 0 else "")
    return [kept]


if __name__ == "__main__":
    raise SystemExit(main())
