"""The request pipeline: bounded retries, exactly one token refresh, no retries of config errors."""

from __future__ import annotations

import logging

import httpx
import pytest

from tests.fixtures.wecom_api.router import SECRET
from wecom_oa.wecom import errors as e
from wecom_oa.wecom.client import BACKOFF_CAP
from wecom_oa.wecom.token_cache import MemoryTokenStore


def test_given_busy_forever_when_reading_then_retries_are_bounded_with_growing_backoff(client, router, sleeps):
    router.script("user/get", -1, -1, -1, -1, -1)

    with pytest.raises(e.WeComBusy):
        client.user_get("zhangsan")

    assert router.count("user/get") == 4  # 1 + max_retries
    assert len(sleeps) == 3
    assert all(0 < s <= BACKOFF_CAP for s in sleeps)
    assert sleeps[2] > sleeps[0]


def test_given_transient_errors_then_call_succeeds_after_retries(client, router, sleeps):
    router.script("message/send", 45033, -1)

    result = client.send_text("x", touser=["u"])

    assert result.calls == 1 and router.count("message/send") == 3 and len(sleeps) == 2


def test_given_frequency_limit_then_raised_at_once_for_the_caller_to_wait(client, router, sleeps):
    router.script("message/send", 45009)

    with pytest.raises(e.WeComFrequencyLimited) as info:
        client.send_text("x", touser=["u"])

    assert router.count("message/send") == 1 and sleeps == []
    assert info.value.retry_after >= 60


@pytest.mark.parametrize("errcode", [40001, 40013, 40056, 48002, 60011, 60020, 301002, 301055, 81013, 42014, 45002])
def test_given_config_or_data_error_then_not_retried(client, router, sleeps, errcode):
    router.script("message/send", errcode)

    with pytest.raises(e.error_class(errcode)):
        client.send_text("x", touser=["u"])

    assert router.count("message/send") == 1 and sleeps == []


def test_given_5xx_then_reads_are_retried_but_sends_are_not(client, router):
    router.script("user/get", ("http", 502))
    assert client.user_get("zhangsan").userid == "zhangsan"
    assert router.count("user/get") == 2

    router.script("message/send", ("http", 502))
    with pytest.raises(e.WeComServerError):
        client.send_text("x", touser=["u"])
    assert router.count("message/send") == 1


def test_given_5xx_on_send_with_duplicate_check_then_retried(client, router):
    router.script("message/send", ("http", 503))

    client.send_text("x", touser=["u"], duplicate_check=True)

    assert router.count("message/send") == 2


def test_given_read_timeout_on_send_then_not_retried_but_connect_error_is(client, router):
    router.script("message/send", httpx.ReadTimeout("read timed out"))
    with pytest.raises(e.WeComTimeout):
        client.send_text("x", touser=["u"])
    assert router.count("message/send") == 1

    router.script("message/send", httpx.ConnectError("refused"))
    client.send_text("x", touser=["u"])
    assert router.count("message/send") == 3


def test_given_unexpected_http_status_or_body_then_upstream_error(client, router):
    router.script("user/get", ("http", 404))
    with pytest.raises(e.WeComError):
        client.user_get("zhangsan")


def test_given_token_revoked_mid_run_then_exactly_one_refresh(client, router):
    for i in range(50):
        if i == 20:
            router.revoke_tokens()
        client.send_text(f"message {i}", touser=["zhangsan"])

    assert router.count("gettoken") == 2
    assert router.count("message/send") == 51  # one rejected call, retried once
    tokens = [c.params["access_token"] for c in router.of("message/send")]
    assert tokens[:21] == ["fixture-access-token-5c2f-g1"] * 21
    assert set(tokens[21:]) == {"fixture-access-token-5c2f-g2"}


@pytest.mark.parametrize("errcode", [40014, 42001, 41001])
def test_given_token_rejected_twice_then_raised_without_looping(client, router, errcode):
    router.script("message/send", errcode, errcode, errcode)

    with pytest.raises(e.WeComTokenInvalid):
        client.send_text("x", touser=["u"])

    assert router.count("message/send") == 2
    assert router.count("gettoken") == 2


def test_given_token_rejected_twice_then_the_next_call_recovers_with_a_new_token(client, router):
    router.script("message/send", 40014, 40014)
    with pytest.raises(e.WeComTokenInvalid):
        client.send_text("x", touser=["u"])

    client.send_text("y", touser=["u"])

    assert router.count("gettoken") == 3


def test_given_wrong_secret_then_configuration_error_without_retry_and_without_the_secret(make_client, router):
    client = make_client(secret="wrong-secret-value-123")

    with pytest.raises(e.InvalidSecret) as info:
        client.send_text("x", touser=["u"])

    assert router.count("gettoken") == 1 and router.count("message/send") == 0
    text = str(info.value) + repr(info.value.to_body())
    assert "wrong-secret-value-123" not in text and "corpsecret" not in text


def test_given_gettoken_busy_then_token_fetch_is_retried(client, router):
    router.script("gettoken", -1)

    client.send_text("x", touser=["u"])

    assert router.count("gettoken") == 2


def test_given_two_clients_sharing_a_store_then_one_gettoken(make_client, router):
    store = MemoryTokenStore()
    a, b = make_client(store=store), make_client(store=store)

    a.send_text("x", touser=["u"])
    b.send_text("y", touser=["u"])

    assert router.count("gettoken") == 1


def test_given_failures_logged_then_no_token_or_secret_in_any_record(client, router, caplog):
    router.script("message/send", -1, 40014)
    with caplog.at_level(logging.DEBUG):
        client.send_text("x", touser=["u"])

    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "retried" in logged
    assert SECRET not in logged
    assert "fixture-access-token" not in logged
