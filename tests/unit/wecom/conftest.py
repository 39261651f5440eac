"""Shared data for the WeCom crypto/parser tests: event samples and crypto vectors, loaded from files."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EVENTS_DIR = REPO / "tests" / "events" / "wecom"
OFFICIAL_VECTORS = REPO / "tests" / "fixtures" / "wecom_vectors" / "official_vectors.json"  # Tencent's samples
WECHATPY_VECTORS = REPO / "tests" / "fixtures" / "wecom_vectors" / "vectors.json"


def _load(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


_OFFICIAL = _load(OFFICIAL_VECTORS)
_WECHATPY = _load(WECHATPY_VECTORS)


def _ids(vectors: list[dict]) -> list[str]:
    return [v["id"] for v in vectors]


_OFFICIAL_GET = [v for v in _OFFICIAL if "echostr" in v["query_params_decoded"]]
_OFFICIAL_POST = [v for v in _OFFICIAL if "http_body" in v]
_WECHATPY_POST_OK = [v for v in _WECHATPY if "http_body" in v and "expected_error" not in v]
_WECHATPY_POST_BAD = [v for v in _WECHATPY if "expected_error" in v]
_WECHATPY_GET = [v for v in _WECHATPY if "expected_plaintext" in v]


@pytest.fixture(params=_OFFICIAL_GET, ids=_ids(_OFFICIAL_GET))
def official_get(request: pytest.FixtureRequest) -> dict:
    return request.param


@pytest.fixture(params=_OFFICIAL_POST, ids=_ids(_OFFICIAL_POST))
def official_post(request: pytest.FixtureRequest) -> dict:
    return request.param


@pytest.fixture(params=_WECHATPY_POST_OK, ids=_ids(_WECHATPY_POST_OK))
def wechatpy_post(request: pytest.FixtureRequest) -> dict:
    return request.param


@pytest.fixture(params=_WECHATPY_POST_BAD, ids=_ids(_WECHATPY_POST_BAD))
def wechatpy_post_bad(request: pytest.FixtureRequest) -> dict:
    return request.param


@pytest.fixture(params=_WECHATPY_GET, ids=_ids(_WECHATPY_GET))
def wechatpy_get(request: pytest.FixtureRequest) -> dict:
    return request.param


@pytest.fixture
def wechatpy_vectors() -> list[dict]:
    return _WECHATPY


@pytest.fixture
def event_xml() -> Callable[[str], str]:
    """`event_xml("text")` → the decrypted sample tests/events/wecom/text.xml."""

    def load(name: str) -> str:
        return (EVENTS_DIR / f"{name}.xml").read_text(encoding="utf-8")

    return load


@pytest.fixture(params=sorted(p.stem for p in EVENTS_DIR.glob("*.xml")))
def any_event_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(autouse=True)
def _no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests stay offline: any socket creation fails loudly."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unit tests must not open sockets")

    monkeypatch.setattr(socket, "socket", refuse)
