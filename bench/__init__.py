"""Benchmarks (`make bench`): each bench_*.py exposes `run() -> str` returning a markdown section."""


class BudgetMissed(AssertionError):
    """A benchmark's budget is missed: `make bench` fails, with the section in the message."""
