from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

T0 = datetime(2026, 1, 23, 9, 15, 20, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock() -> Iterator[object]:
    """A ManualClock installed before the stack and the sandbox are built (they read it then)."""
    from wecom_oa.clock import ManualClock, set_clock

    manual = ManualClock(T0)
    set_clock(manual)
    yield manual
    set_clock(None)
