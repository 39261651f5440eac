from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.digests.support import shanghai, use_test_config


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A ManualClock installed before the stack and the sandbox are built (they read it then)."""
    from wecom_oa.clock import ManualClock, set_clock
    from wecom_oa.services import digests

    manual = ManualClock(shanghai("2025-10-10 17:59"))
    set_clock(manual)
    use_test_config()
    yield manual
    digests.reset()
    set_clock(None)
