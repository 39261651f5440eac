"""Shared fixtures. Tests are ordered by cost: unit (pure, no sockets) → integration (handlers
in-process with moto) → statemachines (ASL executed by moto with our handlers) → e2e (deployed)."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT / "tests" / "events"

# Fixed, fake AWS identity and UTC for every test process (moto's Timestamp waits assumed UTC).
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "TZ": "UTC", "POWERTOOLS_METRICS_NAMESPACE": "WeComOA",
    "POWERTOOLS_DEV": "false",
})
os.environ.pop("AWS_ENDPOINT_URL", None)
time.tzset()


def load_event(name: str) -> dict:
    """One helper for every event file under tests/events (JSON)."""
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    def guard(*args: object, **kwargs: object) -> None:
        raise RuntimeError("unit tests must not open sockets")

    monkeypatch.setattr(socket.socket, "connect", guard)


@pytest.fixture(autouse=True)
def _unit_tests_have_no_sockets(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if "/tests/unit/" in str(request.node.path):
        request.getfixturevalue("no_sockets")


@pytest.fixture
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from wecom_oa.aws.dynamo import reset_tables
    from wecom_oa.clock import set_clock
    from wecom_oa.settings import reset_settings

    reset_settings()
    reset_tables()
    yield
    reset_settings()
    reset_tables()
    set_clock(None)


@pytest.fixture
def local_stack(monkeypatch: pytest.MonkeyPatch, fresh_settings: None) -> Iterator[object]:
    """The whole template deployed into in-process moto, with our handlers registered."""
    from moto import mock_aws

    from local import motoshim
    from local.stack import LocalStack

    # Snapshot the environment: deploy() writes the template's variables into os.environ.
    saved = dict(os.environ)
    with mock_aws(config=motoshim.MOTO_CONFIG):
        import boto3

        stack = LocalStack(boto3.session.Session(region_name="us-east-1")).deploy()
        try:
            yield stack
        finally:
            stack.stop()
            motoshim.clear_registry()
            os.environ.clear()
            os.environ.update(saved)


class LocalApp:
    """The local stack + WeCom sandbox + WeCom-side simulator, in-process (what `make run` serves)."""

    def __init__(self, stack, sandbox, simulator) -> None:
        self.stack, self.sandbox, self.simulator = stack, sandbox, simulator

    def http(self, method: str, path: str, body=None, query: str = "", headers=None) -> tuple[int, object]:
        """Call an API route; returns (status, parsed JSON body or text)."""
        raw = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, dict | list) else body
        resp = self.stack.http(method, path, body=raw, query=query, headers=headers or {})
        try:
            return resp["statusCode"], json.loads(resp["body"]) if resp["body"] else None
        except ValueError:
            return resp["statusCode"], resp["body"]

    def click(self, userid: str, task_id: str, key: str, selected: dict | None = None) -> dict:
        result = self.simulator.click(userid, task_id, key, selected)
        self.stack.drain()
        return result

    def reject(self, userid: str, task_id: str, reason: str = "r0") -> dict:
        """驳回 on an approval card, then 确认驳回 on the reason card it brings (`reason`: an option id)."""
        self.click(userid, task_id, "reject")
        reason_cards = [m for m in self.messages() if m["api"] == "message/send" and m["msgtype"] == "template_card"
                        and (m.get("task_id") or "").startswith("rsn-") and userid in m["recipients"]["userids"]]
        assert reason_cards, f"{userid} got no reason card after 驳回"
        return self.click(userid, reason_cards[-1]["task_id"], "reject_submit", {"reason": reason})

    def messages(self) -> list[dict]:
        return self.sandbox.messages()


@pytest.fixture
def local_app(local_stack, monkeypatch: pytest.MonkeyPatch):
    """`local_stack` with the WeCom client routed to the sandbox in-process (no sockets)."""
    from local.sandbox.runtime import build_sandbox, in_process_transport
    from local.server import CallbackSimulator
    from wecom_oa import wiring

    wiring.reset()
    sandbox = build_sandbox()
    wiring.set_wecom_transport(in_process_transport(sandbox))
    try:
        yield LocalApp(local_stack, sandbox, CallbackSimulator(local_stack, sandbox))
    finally:
        wiring.reset()


def _secret_values() -> list[str]:
    """Every secret the suite configures: sandbox defaults, Tencent's sample identities, fixture secrets."""
    from wecom_oa.settings import LOCAL_DEFAULTS

    values = [LOCAL_DEFAULTS[k] for k in ("WECOM_SECRET", "WECOM_TOKEN", "WECOM_ENCODING_AES_KEY")]
    vectors = json.loads((ROOT / "tests" / "fixtures" / "wecom_vectors" / "official_vectors.json").read_text("utf-8"))
    values += [v[k] for v in vectors for k in ("token", "encoding_aes_key")]
    from tests.fixtures.wecom_api.router import SECRET

    return sorted({v for v in [*values, SECRET] if len(v) >= 6})


_SECRETS: list[str] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Suite-wide guard: a test whose captured output (stdout, stderr, logs) contains a configured
    secret fails, whatever it asserted itself."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.passed:
        return
    if not _SECRETS:
        _SECRETS.extend(_secret_values())
    captured = "".join(content for _, content in report.sections)
    leaked = [s for s in _SECRETS if s in captured]
    if leaked:
        report.outcome = "failed"
        report.longrepr = f"{len(leaked)} configured secret value(s) appeared in captured output: " + ", ".join(
            f"{s[:3]}…({len(s)} chars)" for s in leaked)
