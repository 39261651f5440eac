"""Fixtures for the WeCom sandbox tests: a small company, a manual clock and an API helper."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local.sandbox.directory import SandboxCompany, load_sandbox_directory
from local.sandbox.wecom_api import WeComSandbox
from wecom_oa.clock import ManualClock

TESTS = Path(__file__).resolve().parents[2]
COMPANY_FILE = TESTS / "fixtures" / "sandbox" / "company.yaml"
CARDS_FILE = TESTS / "events" / "sandbox" / "template_cards.json"
CORP_ID, SECRET, AGENT_ID = "wwsandboxtest", "test-corp-secret", 1000002
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai


class Api:
    """Calls `handle` like a WeCom client would; every answer must be HTTP 200 (WeCom's way)."""

    corp_id, secret, agent_id = CORP_ID, SECRET, AGENT_ID

    def __init__(self, sandbox: WeComSandbox) -> None:
        self.sandbox = sandbox
        self.token = self.new_token()

    def new_token(self) -> str:
        return self.get("gettoken", corpid=CORP_ID, corpsecret=SECRET, access_token=None)["access_token"]

    def _query(self, query: dict[str, Any]) -> dict[str, str]:
        query = {"access_token": getattr(self, "token", None), **query}
        return {k: str(v) for k, v in query.items() if v is not None}

    def get(self, path: str, **query: Any) -> dict[str, Any]:
        status, body = self.sandbox.handle("GET", path, self._query(query), b"")
        assert status == 200
        return body

    def post(self, path: str, body: dict[str, Any] | bytes, **query: Any) -> dict[str, Any]:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
        status, answer = self.sandbox.handle("POST", path, self._query(query), raw)
        assert status == 200
        return answer

    def send(self, **body: Any) -> dict[str, Any]:
        return self.post("message/send", {"agentid": AGENT_ID, **body})

    def send_text(self, content: str = "你好", **recipients: Any) -> dict[str, Any]:
        return self.send(msgtype="text", text={"content": content}, **(recipients or {"touser": "dev1"}))

    def send_card(self, card: dict[str, Any], **recipients: Any) -> dict[str, Any]:
        return self.send(msgtype="template_card", template_card=card, **(recipients or {"touser": "dev1|dev2"}))


@pytest.fixture(scope="session")
def company() -> SandboxCompany:
    return load_sandbox_directory(COMPANY_FILE)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def sandbox(company: SandboxCompany, clock: ManualClock) -> WeComSandbox:
    return WeComSandbox.from_company(company, CORP_ID, SECRET, AGENT_ID, clock)


@pytest.fixture
def api(sandbox: WeComSandbox) -> Api:
    return Api(sandbox)


@pytest.fixture
def make_api(company: SandboxCompany, clock: ManualClock):
    """An `Api` over another sandbox: `make_api(company=..., legacy_contact_fields=...)`."""

    def make(*, company: SandboxCompany = company, legacy_contact_fields: bool | None = None) -> Api:
        return Api(WeComSandbox.from_company(company, CORP_ID, SECRET, AGENT_ID, clock,
                                             legacy_contact_fields=legacy_contact_fields))

    return make


@pytest.fixture(scope="session")
def _cards() -> dict[str, dict[str, Any]]:
    return json.loads(CARDS_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def cards(_cards: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Template cards of every type (tests/events/sandbox/template_cards.json); a fresh copy per test."""
    return copy.deepcopy(_cards)
