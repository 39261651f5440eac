from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.digests.support import manual_clock_at


@pytest.fixture(autouse=True)
def clock() -> Iterator[object]:
    """A ManualClock installed before the stack and the sandbox are built (they read it then)."""
    yield from manual_clock_at("2025-10-10 17:59")
