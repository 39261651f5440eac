"""Smoke tests against a deployed stack (`sam deploy`): set E2E_API_URL to the ApiUrl output.

Skipped without it (CI and local runs). They need no secrets: they check the public surface only.
"""

from __future__ import annotations

import os
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest

API_URL = os.environ.get("E2E_API_URL", "").rstrip("/")
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not API_URL, reason="E2E_API_URL not set (no deployed stack)")]


def _call(method: str, path: str, body: bytes | None = None) -> tuple[int, str]:
    try:
        with urlopen(Request(API_URL + path, data=body, method=method), timeout=15) as resp:
            return resp.status, resp.read().decode()
    except HTTPError as err:
        return err.code, err.read().decode()


def test_health_is_public_and_up() -> None:
    assert _call("GET", "/health")[0] == 200


def test_a_forged_callback_is_refused() -> None:
    status, _ = _call("POST", "/wecom/callback?msg_signature=" + "0" * 40 + "&timestamp=1&nonce=1",
                      b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>")
    assert status in (400, 403)


def test_the_api_requires_iam_auth() -> None:
    assert _call("GET", "/tickets?team=tech_support")[0] == 403
