"""errcode → typed exception mapping (PROTOCOL §3.8)."""

from __future__ import annotations

import pytest

from tests.fixtures.wecom_api.router import load
from wecom_oa.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    PayloadTooLarge,
    UpstreamError,
    UpstreamThrottled,
)
from wecom_oa.wecom import errors as e

FAMILIES = {
    -1: UpstreamThrottled, 45009: UpstreamThrottled, 45033: UpstreamThrottled,
    40014: e.WeComTokenInvalid, 42001: e.WeComTokenInvalid, 41001: e.WeComTokenInvalid,
    40001: ConfigurationError, 40013: ConfigurationError, 40056: ConfigurationError, 48002: ConfigurationError,
    60011: ConfigurationError, 60020: ConfigurationError, 301002: ConfigurationError,
    301055: ConfigurationError, 93000: e.RobotWebhookInvalid,
    60111: InvalidInput, 81013: InvalidInput, 82001: InvalidInput, 86001: InvalidInput, 86003: InvalidInput,
    42014: Conflict, 45002: PayloadTooLarge,
}


@pytest.mark.parametrize(("errcode", "family"), sorted(FAMILIES.items()))
def test_given_documented_errcode_when_mapped_then_family_and_errcode_kept(errcode, family):
    exc = e.error_for(errcode, load("errcodes.json")[str(errcode)], "message/send")

    assert isinstance(exc, family)
    assert exc.errcode == errcode
    assert exc.api == "message/send"
    assert str(errcode) in exc.message


def test_given_config_errcodes_then_message_carries_an_operator_hint():
    for errcode in (40001, 40013, 40056, 48002, 60011, 60020, 301002, 301055, 93000):
        exc = e.error_for(errcode, "x", "gettoken")
        assert isinstance(exc, e.WeComConfigError)
        assert exc.hint and exc.hint in exc.message


def test_given_unknown_errcode_then_generic_upstream_error_with_errcode():
    exc = e.error_for(99999, load("errcodes.json")["99999"], "oa/applyevent")

    assert type(exc) is e.WeComError
    assert isinstance(exc, UpstreamError) and not isinstance(exc, UpstreamThrottled)
    assert exc.errcode == 99999
    assert exc.to_body()["error"]["details"] == {"errcode": 99999, "api": "oa/applyevent"}


def test_given_errmsg_with_credentials_then_they_are_scrubbed():
    msgs = load("errcodes.json")
    token_exc = e.error_for(40014, msgs["40014"], "message/send")
    robot_exc = e.error_for(93000, msgs["93000"], "webhook/send")

    assert "leaked-token-value" not in token_exc.errmsg and "access_token=***" in token_exc.errmsg
    assert "robot-secret-key-1234" not in robot_exc.errmsg
    assert "leaked-token-value" not in str(token_exc) + repr(token_exc.to_body())


def test_given_frequency_limit_then_not_retried_in_process_but_busy_is():
    assert e.error_for(45009, "", "x").retry_in_process is False
    assert e.error_for(-1, "", "x").retry_in_process is True
    assert e.error_for(45033, "", "x").retry_in_process is True
