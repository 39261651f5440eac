"""Benchmarks (`make bench`): each bench_*.py exposes `run() -> str` returning a markdown section."""
