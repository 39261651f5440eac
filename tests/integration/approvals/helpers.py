"""Helpers for approval tests on the local app (executions run in moto's background threads)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
SCALE = 1e-4  # 24 h of stage timeout = 8.6 s real; tests click well before that
FAST_RULES = Path(__file__).resolve().parents[2] / "fixtures" / "approvals" / "config"


@pytest.fixture
def app(local_app: Any) -> Any:
    """The local app on a virtual clock scaled by SCALE."""
    from wecom_oa.clock import VirtualClock, set_clock

    set_clock(VirtualClock(START, scale=SCALE))
    yield local_app
    set_clock(None)


@pytest.fixture
def fast_rules(app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Test rule set (all-mode stage, 3h timeouts) instead of the shipped one."""
    from wecom_oa.settings import reset_settings

    monkeypatch.setenv("OA_CONFIG_DIR", str(FAST_RULES))
    reset_settings()
    yield app
    reset_settings()


def wait_until(predicate: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def submit(app: Any, approval_type: str, applicant: str, form: dict[str, Any]) -> dict[str, Any]:
    status, body = app.http("POST", "/approvals", {"type": approval_type, "applicant": applicant, "form": form})
    assert status == 201, body
    return body


def get(app: Any, approval_id: str) -> dict[str, Any]:
    status, body = app.http("GET", f"/approvals/{approval_id}")
    assert status == 200, body
    return body


def cards_for(app: Any, approval_id: str, userid: str) -> list[dict[str, Any]]:
    return [m for m in app.messages() if m["api"] == "message/send" and m["msgtype"] == "template_card"
            and (m["task_id"] or "").startswith(approval_id) and userid in m["recipients"]["userids"]]


def card_for(app: Any, approval_id: str, userid: str, count: int = 1, timeout: float = 15.0) -> dict[str, Any]:
    """The `count`-th stage card `userid` received for the approval (waits for it)."""
    found = wait_until(lambda: len(cards_for(app, approval_id, userid)) >= count and cards_for(app, approval_id, userid),
                       timeout=timeout, what=f"card #{count} for {userid}")
    return found[count - 1]


def final(app: Any, approval_id: str) -> dict[str, Any]:
    """The approval once it left pending and its execution ended."""
    body = wait_until(lambda: (b := get(app, approval_id))["status"] != "pending" and b, what="final status")
    wait_until(lambda: execution_status(app, approval_id) != "RUNNING", what="execution end")
    return body


def execution_status(app: Any, approval_id: str) -> str | None:
    sfn = app.stack.client("stepfunctions")
    arn = app.stack.physical["ApprovalStateMachine"]["Ref"]
    for ex in sfn.list_executions(stateMachineArn=arn)["executions"]:
        if ex["name"] == f"approval-{approval_id}":
            return ex["status"]
    return None


def seen_by(app: Any, userid: str, needle: str) -> list[str]:
    """What `userid` reads in WeCom (texts and cards as shown, the sandbox inbox) containing `needle`."""
    from local.sandbox.inbox import inbox

    return [e["text"] for e in inbox(app.messages(), userid) if needle in e["text"]]


def texts_to(app: Any, userid: str) -> list[str]:
    return [m["content"] for m in app.messages() if m["msgtype"] == "text" and userid in m["recipients"]["userids"]]


def capture_events(app: Any) -> Any:
    """Route the bus's `wecom-oa` events to a queue; returns a reader of their details."""
    events, sqs = app.stack.client("events"), app.stack.client("sqs")
    bus = app.stack.physical["OaEventBus"]["Ref"]
    url = sqs.create_queue(QueueName="approval-events-capture")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="capture", EventBusName=bus, EventPattern=json.dumps({"source": ["wecom-oa"]}))
    events.put_targets(Rule="capture", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def read() -> list[dict[str, Any]]:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in msgs]

    return read
