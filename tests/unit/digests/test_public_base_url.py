"""`PublicBaseUrl` (OA_PUBLIC_BASE_URL) is the base of every link a deployment sends; without it
the links use digests.yaml's `base_url`."""

from __future__ import annotations

import pytest

from wecom_oa.digests import config
from wecom_oa.settings import reset_settings


@pytest.fixture(autouse=True)
def fresh() -> None:
    reset_settings()
    config.reset()
    yield
    reset_settings()
    config.reset()


def test_given_a_public_base_url_then_links_start_with_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OA_PUBLIC_BASE_URL", "https://oa.corp.cn/")

    assert config.digest_config().base_url == "https://oa.corp.cn"


def test_given_no_public_base_url_then_the_files_base_url_stands(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OA_PUBLIC_BASE_URL", raising=False)

    assert config.digest_config().base_url == "https://oa.example.com"
