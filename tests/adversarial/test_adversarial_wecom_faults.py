"""Fault injection on the WeCom client beyond tests/unit/wecom_client: connection resets, dropped
connections and arbitrary mixed fault sequences. Invariants: bounded attempts, at most one token
refresh per call, never a silent loss (a send either reached WeCom or raised the last fault's typed
error), never a blind re-send after an ambiguous failure unless duplicate_check is on."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fixtures.wecom_api.router import AGENT_ID, API_BASE, CORP_ID, SECRET, WeComFixtureRouter
from wecom_oa.clock import ManualClock
from wecom_oa.errors import OAError
from wecom_oa.wecom import errors as e
from wecom_oa.wecom.client import BACKOFF_CAP, WeComClient
from wecom_oa.wecom.token_cache import MemoryTokenStore, TokenCache

MAX_RETRIES = 3
TOKEN_PREFIX = "fixture-access-token"

# name → (scripted response factory, error class it surfaces, ambiguous: the request may have landed)
FAULTS = {
    "busy": (lambda: -1, e.WeComBusy, False),
    "system_busy_45033": (lambda: 45033, e.error_class(45033), False),
    "frequency_45009": (lambda: 45009, e.WeComFrequencyLimited, False),
    "token_40014": (lambda: 40014, e.WeComTokenInvalid, False),
    "http_502": (lambda: ("http", 502), e.WeComServerError, True),
    "http_503": (lambda: ("http", 503), e.WeComServerError, True),
    "read_timeout": (lambda: httpx.ReadTimeout("read timed out"), e.WeComTimeout, True),
    "connection_reset": (lambda: httpx.ReadError("[Errno 104] Connection reset by peer"), e.WeComTimeout, True),
    "server_disconnected": (lambda: httpx.RemoteProtocolError("Server disconnected without sending a response"),
                            e.WeComTimeout, True),
    "connect_refused": (lambda: httpx.ConnectError("[Errno 111] Connection refused"), e.WeComTimeout, False),
}


class Harness:
    def __init__(self) -> None:
        self.clock = ManualClock(datetime(2026, 1, 23, 9, 0, 5, tzinfo=UTC))
        self.router = WeComFixtureRouter(clock=self.clock)
        self.sleeps: list[float] = []

        def sleep(seconds: float) -> None:
            self.sleeps.append(seconds)
            self.clock.advance(seconds)

        cache = TokenCache(MemoryTokenStore(), clock=self.clock, sleep=sleep)
        self.client = WeComClient(API_BASE, CORP_ID, AGENT_ID, SECRET, cache, http=self.router.http(),
                                  clock=self.clock, sleep=sleep, max_retries=MAX_RETRIES, rng=random.Random(3))

    def script(self, path: str, names: list[str]) -> None:
        self.router.script(path, *(FAULTS[n][0]() for n in names))


def test_given_connection_reset_on_send_then_surfaced_once_without_resending_or_leaking_the_token() -> None:
    h = Harness()
    h.script("message/send", ["connection_reset"])

    with pytest.raises(e.WeComTimeout) as info:
        h.client.send_text("设备告警", touser=["zhangsan"])

    assert h.router.count("message/send") == 1  # may have landed: not sent twice
    text = f"{info.value} {info.value.to_body()!r}"
    assert TOKEN_PREFIX not in text and "access_token" not in text and SECRET not in text


def test_given_connection_reset_on_send_with_duplicate_check_then_retried_and_delivered_once() -> None:
    h = Harness()
    h.script("message/send", ["connection_reset", "server_disconnected"])

    result = h.client.send_text("设备告警", touser=["zhangsan"], duplicate_check=True)

    assert result.calls == 1 and h.router.count("message/send") == 3
    assert all(c.body["enable_duplicate_check"] == 1 for c in h.router.of("message/send"))


def test_given_connection_reset_on_a_read_then_retried_and_answered() -> None:
    h = Harness()
    h.script("user/get", ["connection_reset", "server_disconnected"])

    assert h.client.user_get("zhangsan").userid == "zhangsan"
    assert h.router.count("user/get") == 3


def test_given_mixed_faults_with_a_token_revocation_mid_call_then_one_refresh_and_delivered() -> None:
    h = Harness()
    h.script("message/send", ["http_502", "token_40014", "busy"])

    h.client.send_text("x", touser=["u"], duplicate_check=True)

    assert h.router.count("gettoken") == 2
    tokens = [c.params["access_token"] for c in h.router.of("message/send")]
    assert tokens[0] == tokens[1] != tokens[2] == tokens[3]  # the refreshed token is kept for the rest
    assert len(h.sleeps) == 2 and all(0 < s <= BACKOFF_CAP for s in h.sleeps)


def test_given_40014_on_two_attempts_separated_by_a_busy_then_still_only_one_refresh() -> None:
    h = Harness()
    h.script("message/send", ["token_40014", "busy", "token_40014"])

    with pytest.raises(e.WeComTokenInvalid):
        h.client.send_text("x", touser=["u"], duplicate_check=True)

    assert h.router.count("gettoken") == 2  # one refresh per call, even across retries


@settings(max_examples=150, deadline=None)
@given(faults=st.lists(st.sampled_from(sorted(FAULTS)), max_size=7), duplicate_check=st.booleans())
def test_property_any_fault_sequence_is_bounded_and_never_silently_lost(faults, duplicate_check) -> None:
    h = Harness()
    h.script("message/send", faults)

    try:
        result = h.client.send_text("x", touser=["u"], duplicate_check=duplicate_check)
        raised = None
    except OAError as exc:
        result, raised = None, exc

    calls = h.router.of("message/send")
    refreshed = any(f == "token_40014" for f in faults[:len(calls)])
    assert len(calls) <= MAX_RETRIES + 2  # 1 + retries, plus the one token refresh
    assert h.router.count("gettoken") == 1 + refreshed
    assert len(h.sleeps) <= MAX_RETRIES and all(0 < s <= BACKOFF_CAP for s in h.sleeps)
    if raised is None:  # delivered: exactly by the first call the fake answered normally
        assert result is not None and len(calls) == len(faults) + 1
    else:  # surfaced: the error of the last fault actually hit, not a generic one
        assert len(calls) <= len(faults)
        assert isinstance(raised, FAULTS[faults[len(calls) - 1]][1])
        assert TOKEN_PREFIX not in str(raised) and SECRET not in str(raised)
    if not duplicate_check:  # an ambiguous failure is never followed by a blind re-send
        hit = faults[:len(calls)]
        for i, name in enumerate(hit[:-1]):
            assert not FAULTS[name][2], f"re-sent after {name} at call {i + 1}"
