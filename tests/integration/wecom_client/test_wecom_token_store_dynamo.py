"""DynamoTokenStore on moto: lease semantics and one gettoken across concurrent containers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.fixtures.wecom_api.router import AGENT_ID, API_BASE, CORP_ID, SECRET, WeComFixtureRouter
from wecom_oa.aws.dynamo import Keys
from wecom_oa.clock import SystemClock
from wecom_oa.wecom.client import WeComClient
from wecom_oa.wecom.token_cache import DynamoTokenStore, TokenCache

CORP, AGENT = CORP_ID, str(AGENT_ID)
WORKERS, MESSAGES = 8, 1000


def test_given_empty_table_then_first_lease_wins_and_others_are_refused(table):
    store = DynamoTokenStore(table)

    assert store.try_acquire_lease(CORP, AGENT, "a", 115.0, 100.0, 400.0)
    assert not store.try_acquire_lease(CORP, AGENT, "b", 115.0, 100.0, 400.0)
    assert store.try_acquire_lease(CORP, AGENT, "a", 120.0, 101.0, 401.0)  # re-entrant for the holder
    assert store.try_acquire_lease(CORP, AGENT, "b", 140.0, 125.0, 425.0)  # expired lease taken over


def test_given_published_token_then_read_back_with_expiry_and_lease_dropped(table):
    store = DynamoTokenStore(table)
    store.try_acquire_lease(CORP, AGENT, "a", 115.0, 100.0, 400.0)

    store.publish(CORP, AGENT, "tok", 7300.0, "a")

    rec = store.read(CORP, AGENT)
    assert (rec.token, rec.expires_at, rec.lease_owner) == ("tok", 7300.0, None)
    item = table.get(Keys.token(CORP, AGENT))
    assert item["expires_at"] > 7300  # TTL attribute outlives the token
    # A fresh token cannot be refreshed again (closes the read-then-lease race) ...
    assert not store.try_acquire_lease(CORP, AGENT, "b", 215.0, 200.0, 500.0)
    # ... until it is within the refresh-ahead window.
    assert store.try_acquire_lease(CORP, AGENT, "b", 7015.0, 7000.0, 7300.5)


def test_given_invalidate_then_only_the_matching_token_is_expired(table):
    store = DynamoTokenStore(table)
    store.publish(CORP, AGENT, "current", 7300.0, "a")

    store.invalidate(CORP, AGENT, "older")
    assert store.read(CORP, AGENT).expires_at == 7300.0
    store.invalidate(CORP, AGENT, "current")
    assert store.read(CORP, AGENT).expires_at == 0
    store.release(CORP, "other-agent", "a")  # releasing a missing item is harmless


def _containers(table, router) -> list[WeComClient]:
    store = DynamoTokenStore(table)
    http = router.http()
    return [
        WeComClient(API_BASE, CORP_ID, AGENT_ID, SECRET,
                    TokenCache(store, clock=SystemClock(), poll_interval=0.01, wait_timeout=10),
                    http=http, clock=SystemClock(), sleep=lambda s: None)
        for _ in range(WORKERS)
    ]


def _send_all(clients, revoke_at: int | None = None, router=None) -> None:
    counter = iter(range(MESSAGES))
    lock = threading.Lock()

    def worker(client: WeComClient) -> None:
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            if revoke_at is not None and i == revoke_at:
                router.revoke_tokens()
            client.send_text(f"消息 {i}", touser=["zhangsan"])

    with ThreadPoolExecutor(WORKERS) as pool:
        for future in [pool.submit(worker, c) for c in clients]:
            future.result()


@pytest.mark.slow
def test_given_8_containers_sharing_the_store_when_sending_1000_messages_then_exactly_one_gettoken(table):
    router = WeComFixtureRouter()
    clients = _containers(table, router)

    _send_all(clients)

    assert router.count("message/send") == MESSAGES
    assert router.count("gettoken") == 1
    assert not router.missing


@pytest.mark.slow
def test_given_token_revoked_mid_run_then_the_fleet_refreshes_exactly_once(table):
    router = WeComFixtureRouter()
    clients = _containers(table, router)

    _send_all(clients, revoke_at=400, router=router)

    assert router.count("gettoken") == 2
    rejected = router.count("message/send") - MESSAGES
    assert 1 <= rejected <= WORKERS  # each container retries its in-flight message once at most
