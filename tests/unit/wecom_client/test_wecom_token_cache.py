"""TokenCache single-flight semantics on the in-memory store (the DynamoDB store: integration tests)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wecom_oa.errors import UpstreamThrottled
from wecom_oa.wecom.errors import WeComBusy
from wecom_oa.wecom.token_cache import MemoryTokenStore, TokenCache

CORP, AGENT = "ww-corp", "1000002"


class Fetcher:
    def __init__(self, expires_in: int = 7200) -> None:
        self.calls = 0
        self.expires_in = expires_in

    def __call__(self) -> tuple[str, int]:
        self.calls += 1
        return f"tok-{self.calls}", self.expires_in


def make_cache(store, clock, **kw) -> TokenCache:
    return TokenCache(store, clock=clock, sleep=clock.sleep, **kw)


def test_given_fresh_token_then_served_from_memory_without_store_reads(clock):
    store, fetch = MemoryTokenStore(), Fetcher()
    cache = make_cache(store, clock)
    assert cache.get(CORP, AGENT, fetch) == "tok-1"

    store.publish(CORP, AGENT, "other", clock.now().timestamp() + 7200, "x")  # store changed behind our back
    assert cache.get(CORP, AGENT, fetch) == "tok-1"
    assert fetch.calls == 1


def test_given_token_five_minutes_from_expiry_then_refreshed_ahead(clock):
    fetch = Fetcher()
    cache = make_cache(MemoryTokenStore(), clock)
    cache.get(CORP, AGENT, fetch)

    clock.advance(7200 - 301)
    assert cache.get(CORP, AGENT, fetch) == "tok-1"
    clock.advance(2)
    assert cache.get(CORP, AGENT, fetch) == "tok-2"


def test_given_two_apps_of_one_corp_then_tokens_never_shared(clock):
    fetch_a, fetch_b = Fetcher(), Fetcher()
    cache = make_cache(MemoryTokenStore(), clock)

    cache.get(CORP, "1000002", fetch_a)
    cache.get(CORP, "1000003", fetch_b)

    assert (fetch_a.calls, fetch_b.calls) == (1, 1)


def test_given_other_container_holds_lease_while_token_valid_then_old_token_used_without_waiting(clock):
    store, fetch = MemoryTokenStore(), Fetcher()
    now = clock.now().timestamp()
    store.publish(CORP, AGENT, "old", now + 100, "x")  # inside the refresh-ahead window
    assert store.try_acquire_lease(CORP, AGENT, "other-container", now + 15, now, now + 300)

    token = make_cache(store, clock).get(CORP, AGENT, fetch)

    assert token == "old" and fetch.calls == 0


def test_given_lease_held_and_token_expired_then_waiter_polls_until_published(clock):
    store, fetch = MemoryTokenStore(), Fetcher()
    now = clock.now().timestamp()
    assert store.try_acquire_lease(CORP, AGENT, "other-container", now + 15, now, now + 300)
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        clock.advance(seconds)
        if len(polls) == 3:
            store.publish(CORP, AGENT, "from-other", clock.now().timestamp() + 7200, "other-container")

    cache = TokenCache(store, clock=clock, sleep=sleep, poll_interval=0.1)

    assert cache.get(CORP, AGENT, fetch) == "from-other"
    assert fetch.calls == 0 and len(polls) == 3


def test_given_lease_holder_died_then_lease_is_taken_over_after_it_expires(clock):
    store, fetch = MemoryTokenStore(), Fetcher()
    now = clock.now().timestamp()
    store.try_acquire_lease(CORP, AGENT, "dead-container", now + 2, now, now + 300)

    token = make_cache(store, clock, poll_interval=0.5).get(CORP, AGENT, fetch)

    assert token == "tok-1" and fetch.calls == 1


def test_given_no_token_appears_then_bounded_wait_raises_throttled(clock):
    store = MemoryTokenStore()
    now = clock.now().timestamp()
    store.try_acquire_lease(CORP, AGENT, "slow", now + 10_000, now, now + 300)

    with pytest.raises(UpstreamThrottled):
        make_cache(store, clock, wait_timeout=5).get(CORP, AGENT, Fetcher())


def test_given_fetch_fails_then_lease_released_for_the_next_try(clock):
    store = MemoryTokenStore()
    cache = make_cache(store, clock)

    def failing():
        raise WeComBusy("busy", errcode=-1, api="gettoken")

    with pytest.raises(WeComBusy):
        cache.get(CORP, AGENT, failing)
    assert store.read(CORP, AGENT).lease_owner is None
    assert cache.get(CORP, AGENT, Fetcher()) == "tok-1"


def test_given_invalidate_with_stale_token_then_current_token_kept(clock):
    store, fetch = MemoryTokenStore(), Fetcher()
    cache = make_cache(store, clock)
    cache.get(CORP, AGENT, fetch)

    cache.invalidate(CORP, AGENT, "some-older-token")
    assert cache.get(CORP, AGENT, fetch) == "tok-1"

    cache.invalidate(CORP, AGENT, "tok-1")
    assert cache.get(CORP, AGENT, fetch) == "tok-2"
    assert fetch.calls == 2


def test_given_100_minutes_of_calls_then_a_two_hour_token_is_fetched_once(clock):
    fetch = Fetcher(expires_in=7200)
    cache = make_cache(MemoryTokenStore(), clock)
    for _ in range(100):
        cache.get(CORP, AGENT, fetch)
        clock.advance(timedelta(minutes=1))
    # 100 minutes with 2 h tokens refreshed 5 min early: one refresh only.
    assert fetch.calls == 1


def test_given_token_published_between_read_and_lease_then_no_second_refresh(clock):
    store, fetch = MemoryTokenStore(), Fetcher()
    now = clock.now().timestamp()
    # Worker B read the store (empty), then worker A refreshed and published before B asks for the lease.
    assert store.try_acquire_lease(CORP, AGENT, "A", now + 15, now, now + 300)
    store.publish(CORP, AGENT, "from-A", now + 7200, "A")

    assert not store.try_acquire_lease(CORP, AGENT, "B", now + 15, now, now + 300)
    assert make_cache(store, clock).get(CORP, AGENT, fetch) == "from-A"
    assert fetch.calls == 0
