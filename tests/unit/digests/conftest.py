"""Shared fakes for the digest domain tests: a business calendar and the demo directory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from wecom_oa.directory import StaticDirectory
from wecom_oa.texts import Templates

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "digests"


class FakeCalendar:
    """Mon-Fri workdays, minus `holidays`, plus `makeup_workdays` (调休)."""

    def __init__(self, holidays: set[date] = frozenset(), makeup_workdays: set[date] = frozenset()) -> None:
        self.holidays = set(holidays)
        self.makeup = set(makeup_workdays)
        self.asked: list[date] = []

    def is_workday(self, d: date) -> bool:
        self.asked.append(d)
        if d in self.makeup:
            return True
        return d.weekday() < 5 and d not in self.holidays


@pytest.fixture
def calendar() -> FakeCalendar:
    # National Day 2026 style: Oct 1-7 off, Sat Oct 10 a make-up workday.
    holidays = {date(2026, 10, d) for d in range(1, 8)}
    return FakeCalendar(holidays=holidays, makeup_workdays={date(2026, 10, 10)})


@pytest.fixture(scope="session")
def directory() -> StaticDirectory:
    return StaticDirectory.from_yaml(FIXTURES / "directory.yaml")


@pytest.fixture(scope="session")
def templates() -> Templates:
    return Templates.load()
