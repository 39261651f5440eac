"""Shared set-up for the WeCom client unit tests: a fixture-serving fake WeCom, a manual clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from tests.fixtures.wecom_api.router import AGENT_ID, API_BASE, CORP_ID, SECRET, WeComFixtureRouter
from wecom_oa.clock import ManualClock
from wecom_oa.wecom.client import WeComClient
from wecom_oa.wecom.token_cache import MemoryTokenStore, TokenCache


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 1, 23, 9, 0, 5, tzinfo=UTC))


@pytest.fixture
def router(clock: ManualClock):
    r = WeComFixtureRouter(clock=clock)
    yield r
    assert not r.missing, f"requests hit missing fixtures: {r.missing}"


@pytest.fixture
def sleeps(clock: ManualClock) -> list[float]:
    """Seconds the code under test asked to sleep; the manual clock advances by them."""
    recorded: list[float] = []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        clock.advance(seconds)

    sleep.recorded = recorded  # type: ignore[attr-defined]
    return recorded


@pytest.fixture
def make_client(router: WeComFixtureRouter, clock: ManualClock, sleeps: list[float]):
    def make(*, store: MemoryTokenStore | None = None, max_retries: int = 3, secret: str = SECRET) -> WeComClient:
        def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            clock.advance(seconds)

        cache = TokenCache(store or MemoryTokenStore(), clock=clock, sleep=sleep)
        return WeComClient(API_BASE, CORP_ID, AGENT_ID, secret, cache, http=router.http(), clock=clock,
                           sleep=sleep, max_retries=max_retries, rng=random.Random(7))

    return make


@pytest.fixture
def client(make_client) -> WeComClient:
    return make_client()
