"""Transient WeCom/AWS failures inside state-machine tasks are retried by the ASL; configuration errors
go to the failure path on the first attempt. Executed by moto with the real ASL, our handlers (under
`wecom_oa.aws.asl.asl_task`) and the WeCom sandbox behind a fault-injecting transport; retry sleeps run on
the scaled virtual clock (local/motoshim)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from local.sandbox.runtime import CGI_BIN, in_process_transport
from tests.integration.approvals import helpers
from tests.integration.approvals.helpers import card_for, execution_status, final, submit, wait_until
from wecom_oa.aws.asl import RETRIED_NAMES
from wecom_oa.clock import VirtualClock, set_clock

pytestmark = [pytest.mark.slow, pytest.mark.scaled_clock]
app = helpers.app  # the local app on helpers.SCALE's virtual clock (fixture)

ROOT = Path(__file__).resolve().parents[2]
ASL_FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
LAMBDA_ERRORS = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                 "Lambda.TooManyRequestsException"}
FREQUENCY_WINDOW_S = 60  # WeCom 45009: a frequency window is at least a minute
THIRTY_MINUTES_S = 30 * 60
TICKET_CLOCK = 5e-5  # one virtual hour = 0.18 s


class FaultyWeCom:
    """The sandbox behind an httpx transport whose first `times` matching calls fail: errcode `errcode`
    (HTTP 200, as WeCom answers) or HTTP `http_status`. Thread-safe: tasks run in moto's threads."""

    def __init__(self, sandbox: Any, path: str, when: Callable[[dict[str, Any]], bool], *, errcode: int = 0,
                 http_status: int = 0, times: int = 1) -> None:
        self.inner = in_process_transport(sandbox)
        self.path, self.when, self.errcode, self.http_status, self.times = path, when, errcode, http_status, times
        self.hits = 0
        self._lock = threading.Lock()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        sub = request.url.path.split(CGI_BIN, 1)[-1]
        body = json.loads(request.content or b"{}") if request.method == "POST" else {}
        with self._lock:
            fault = sub == self.path and self.hits < self.times and self.when(body)
            self.hits += fault
        if not fault:
            return self.inner.handle_request(request)
        if self.http_status:
            return httpx.Response(self.http_status, text="bad gateway")
        return httpx.Response(200, json={"errcode": self.errcode, "errmsg": f"injected fault {self.errcode}"})


def _inject(local_app: Any, fault: FaultyWeCom) -> FaultyWeCom:
    from wecom_oa import wiring

    wiring.set_wecom_transport(fault.transport())
    return fault


def _task_errors(local_app: Any, execution_arn: str) -> list[tuple[str, str]]:
    """(state, error) for every failed task attempt of the execution, oldest first."""
    sfn = local_app.stack.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    state, failed = "", []
    for event in events:
        if event["type"].endswith("StateEntered"):
            state = event["stateEnteredEventDetails"]["name"]
        if event["type"] in ("TaskFailed", "LambdaFunctionFailed"):
            details = event.get("taskFailedEventDetails") or event.get("lambdaFunctionFailedEventDetails") or {}
            failed.append((state, details.get("error", "")))
    return failed


def _approval_execution_arn(local_app: Any, approval_id: str) -> str:
    sfn = local_app.stack.client("stepfunctions")
    arn = local_app.stack.physical["ApprovalStateMachine"]["Ref"]
    (found,) = [e["executionArn"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]
                if e["name"] == f"approval-{approval_id}"]
    return found


def _is_card(body: dict[str, Any]) -> bool:
    return body.get("msgtype") == "template_card"


# -- the contract: every Lambda task retries the transient names ----------------------------------------

def _lambda_tasks() -> list[tuple[str, str, dict[str, Any]]]:
    tasks = []
    for path in ASL_FILES:
        for name, state in json.loads(path.read_text(encoding="utf-8"))["States"].items():
            if state["Type"] == "Task" and ":lambda:invoke" in state["Resource"]:
                tasks.append((path.name, name, state))
    return tasks


def _worst_case_wait(retrier: dict[str, Any]) -> float:
    interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    return sum(min(interval * rate ** i, cap) for i in range(retrier.get("MaxAttempts", 3)))


@pytest.mark.parametrize("task", _lambda_tasks(), ids=lambda t: f"{t[0]}:{t[1]}")
def test_every_lambda_task_retries_each_transient_name_and_catches_everything_else(task) -> None:
    _, _, state = task
    listed = [name for retrier in state["Retry"] for name in retrier["ErrorEquals"]]
    assert set(RETRIED_NAMES) | LAMBDA_ERRORS <= set(listed)
    assert set(listed) == set(RETRIED_NAMES) | LAMBDA_ERRORS, "only transient names are retried"
    assert len(listed) == len(set(listed)), "a name in two retriers: only the first would ever apply"
    assert all(r.get("JitterStrategy") == "FULL" for r in state["Retry"])
    assert any(c["ErrorEquals"] == ["States.ALL"] for c in state["Catch"])


def _wait_quantile(retrier: dict[str, Any], z: float) -> float:
    """The wait that FULL jitter (a uniform share of each interval) exceeds with high probability:
    mean minus z standard deviations of the sum of the uniform waits."""
    interval, rate = retrier.get("IntervalSeconds", 1), retrier.get("BackoffRate", 2.0)
    cap = retrier.get("MaxDelaySeconds", float("inf"))
    delays = [min(interval * rate ** i, cap) for i in range(retrier.get("MaxAttempts", 3))]
    return sum(delays) / 2 - z * (sum(d * d for d in delays) / 12) ** 0.5


@pytest.mark.parametrize("task", _lambda_tasks(), ids=lambda t: f"{t[0]}:{t[1]}")
@pytest.mark.parametrize("name", ["UpstreamThrottled", "UpstreamUnavailable"])
def test_a_wecom_outage_of_30_minutes_is_waited_out_with_bounded_backoff(task, name) -> None:
    _, _, state = task
    (retrier,) = [r for r in state["Retry"] if name in r["ErrorEquals"]]
    assert _wait_quantile(retrier, 3.0) >= THIRTY_MINUTES_S, "a 30-minute outage must fail (almost) nothing"
    assert retrier["MaxDelaySeconds"] <= 300, "backoff is bounded: WeCom's return is noticed within minutes"
    assert _worst_case_wait(retrier) <= 3 * 3600, "and the task gives up eventually"
    assert _worst_case_wait(retrier) / 2 >= 2 * FREQUENCY_WINDOW_S


# -- approval paths -------------------------------------------------------------------------------------

def test_given_45009_once_on_the_stage_card_when_the_approver_approves_then_retried_and_approved(app) -> None:
    fault = _inject(app, FaultyWeCom(app.sandbox, "message/send", _is_card, errcode=45009))

    a = submit(app, "expense", "zhangsan", {"amount": 1000, "reason": "办公用品"})
    card = card_for(app, a["id"], "lina")
    app.click("lina", card["task_id"], "approve")

    body = final(app, a["id"])
    assert body["status"] == "approved" and body["decided_by"] == "lina"
    assert execution_status(app, a["id"]) == "SUCCEEDED"
    assert fault.hits == 1
    assert _task_errors(app, _approval_execution_arn(app, a["id"])) == [("AwaitDecision", "UpstreamThrottled")]


def test_given_a_wecom_5xx_on_the_stage_card_then_retried_as_upstream_unavailable(app) -> None:
    fault = _inject(app, FaultyWeCom(app.sandbox, "message/send", _is_card, http_status=502))

    a = submit(app, "expense", "zhangsan", {"amount": 1000, "reason": "办公用品"})
    app.click("lina", card_for(app, a["id"], "lina")["task_id"], "approve")

    assert final(app, a["id"])["status"] == "approved"
    assert fault.hits == 1
    assert _task_errors(app, _approval_execution_arn(app, a["id"])) == [("AwaitDecision", "UpstreamUnavailable")]


def test_given_a_long_run_of_wecom_throttling_on_the_stage_card_then_the_approval_waits_and_is_decided(app) -> None:
    # 12 throttled attempts in a row: with the retrier's backoff that is well over the old budget (5)
    # and, at the 5-minute cap, about half an hour of waiting on AWS (the contract test above).
    app.sandbox.faults.add({"path": "message/send", "msgtype": "template_card", "errcode": 45009, "times": 12})

    a = submit(app, "expense", "zhangsan", {"amount": 1000, "reason": "办公用品"})
    card = card_for(app, a["id"], "lina", timeout=60)

    (fault,) = app.sandbox.faults.list()
    assert fault["hits"] == 12
    app.click("lina", card["task_id"], "approve")
    body = final(app, a["id"])
    assert body["status"] == "approved" and body["decided_by"] == "lina"
    assert [m["task_id"] for m in app.messages()
            if m["api"] == "message/send" and m.get("task_id") == card["task_id"]] == [card["task_id"]]
    assert _task_errors(app, _approval_execution_arn(app, a["id"])) == [("AwaitDecision", "UpstreamThrottled")] * 12


def test_given_60020_on_the_stage_card_then_one_attempt_and_the_approval_is_marked_failed(app) -> None:
    fault = _inject(app, FaultyWeCom(app.sandbox, "message/send", _is_card, errcode=60020, times=99))

    a = submit(app, "expense", "zhangsan", {"amount": 1000, "reason": "办公用品"})

    body = final(app, a["id"])
    assert body["status"] == "failed"
    assert body["error"]["error"] == "IpNotTrusted" and "60020" in body["error"]["cause"]  # what the operator reads
    assert execution_status(app, a["id"]) == "FAILED"
    assert fault.hits == 1, "a configuration error is never retried"
    assert _task_errors(app, _approval_execution_arn(app, a["id"])) == [("AwaitDecision", "IpNotTrusted")]


# -- ticket timer ---------------------------------------------------------------------------------------

def _ticket_executions(local_app: Any, ticket_id: str) -> list[dict[str, Any]]:
    sfn = local_app.stack.client("stepfunctions")
    arn = local_app.stack.physical["TicketEscalationStateMachine"]["Arn"]
    return [e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["name"].startswith(ticket_id)]


def _escalations(local_app: Any, ticket_id: str, level: str) -> list[dict[str, Any]]:
    return [m for m in local_app.messages()
            if (m.get("content") or "").startswith(f"【工单升级 {level}】") and ticket_id in m["content"]]


def _is_first_escalation(body: dict[str, Any]) -> bool:
    return body.get("msgtype") == "text" and body["text"]["content"].startswith("【工单升级 L1】")


def _repair_on_monday(local_app: Any, title: str) -> dict[str, Any]:
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-23T09:00:00+08:00"), scale=TICKET_CLOCK))
    status, ticket = local_app.http("POST", "/tickets", {
        "type": "repair", "title": title, "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "设备", "location": "一号厂房"}})
    assert status == 201, ticket
    return ticket


def _close(local_app: Any, ticket_id: str) -> None:
    """Close the ticket and wait for its timers to end (closing stops them)."""
    status, out = local_app.http("POST", f"/tickets/{ticket_id}/actions",
                                 {"action": "close", "by": "zhangsan", "reason": "测试结束"})
    assert status == 200, out
    wait_until(lambda: all(e["status"] != "RUNNING" for e in _ticket_executions(local_app, ticket_id)),
               timeout=20, what="timer end")


@pytest.mark.parametrize(("fault", "asl_error"), [({"errcode": 45009}, "UpstreamThrottled"),
                                                  ({"http_status": 503}, "UpstreamUnavailable")],
                         ids=["45009", "http-503"])
def test_given_a_transient_wecom_error_on_an_escalation_then_the_check_is_retried_and_the_timer_continues(
        local_app, fault: dict[str, int], asl_error: str) -> None:
    ticket = _repair_on_monday(local_app, "液压站压力异常")
    faulty = _inject(local_app, FaultyWeCom(local_app.sandbox, "message/send", _is_first_escalation, **fault))

    wait_until(lambda: _escalations(local_app, ticket["id"], "L2"), timeout=20, what="level-2 escalation")

    assert faulty.hits == 1
    assert len(_escalations(local_app, ticket["id"], "L1")) == 1, "sent once, after the retry"
    (timer,) = [e for e in _ticket_executions(local_app, ticket["id"]) if e["name"] == f"{ticket['id']}-g1"]
    assert timer["status"] == "RUNNING", "the timer goes on to the resolution clock"
    assert _task_errors(local_app, timer["executionArn"]) == [("Check", asl_error)]
    _close(local_app, ticket["id"])


def test_given_60020_on_an_escalation_then_the_timer_fails_after_one_attempt(local_app) -> None:
    ticket = _repair_on_monday(local_app, "空调外机漏水")
    faulty = _inject(local_app, FaultyWeCom(local_app.sandbox, "message/send", _is_first_escalation,
                                            errcode=60020, times=99))

    timer = f"{ticket['id']}-g1"
    wait_until(lambda: any(e["name"] == timer and e["status"] != "RUNNING"
                           for e in _ticket_executions(local_app, ticket["id"])), timeout=20, what="timer end")

    (execution,) = [e for e in _ticket_executions(local_app, ticket["id"]) if e["name"] == timer]
    assert execution["status"] == "FAILED"
    assert faulty.hits == 1
    assert _task_errors(local_app, execution["executionArn"]) == [("Check", "IpNotTrusted")]
    assert _escalations(local_app, ticket["id"], "L1") == []
