"""Lambda invocations and DynamoDB calls per card click, per ticket creation and per escalation.

Runs the local stack (template.yaml deployed into in-process moto, our handlers registered, the
WeCom sandbox in-process) and counts from real execution:
- invocations: every handler run goes through `local.motoshim.invoke_local` (HTTP routes, the
  queue worker, Step Functions' Lambda tasks), which is wrapped to record the function's name;
- DynamoDB calls: `BaseClient._make_api_call` is wrapped and every DynamoDB operation is attributed
  to the template function running it (`motoshim.current_function`), with the item key it names.

The click scenario is an expense of 3000 CNY (finance pre-review 钱进, then general manager 王建国),
each stage decided by one 同意 click through the WeCom callback, on a real-time clock after a
first approval has warmed the caches a running container has (WeCom token, directory): the
figures are a warm container's. A click is measured from the callback until every invocation it
caused has ended (the next stage's card sent and its wait armed, or the approval finished).
Design budget: a click deciding a stage ≤ 3 invocations and ≤ 8 DynamoDB calls. Ticket creation
(`POST /tickets` until its escalation timer sleeps) and one escalation level (a wake-up of the
timer that escalates, run at its due instant on a held clock) are budgeted at their measured values
so a regression fails. Every DynamoDB call counts, the WeCom token store and the directory's
version check included (a wake-up days later finds both stale, as a warm container would).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from unittest import mock

from bench import BudgetMissed

CLICK_INVOCATIONS = 3
CLICK_DYNAMODB_CALLS = 8
TICKET_CREATION_INVOCATIONS = 2
TICKET_CREATION_DYNAMODB_CALLS = 10
ESCALATION_INVOCATIONS = 1
ESCALATION_DYNAMODB_CALLS = 11
QUIET_SECONDS = 0.4  # no invocation running or starting for this long: the click's effects are over
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


@dataclass
class Window:
    """What ran between `open` and `close`: invocations in order, DynamoDB calls per function."""

    invocations: list[str] = field(default_factory=list)
    calls: list[tuple[str, str, str]] = field(default_factory=list)  # (function, operation, key)

    @property
    def dynamodb(self) -> int:
        return len(self.calls)

    @property
    def reads(self) -> int:
        return sum(op not in WRITES for _, op, _ in self.calls)

    @property
    def writes(self) -> int:
        return sum(op in WRITES for _, op, _ in self.calls)

    def by_function(self) -> str:
        per = Counter(f for f, _, _ in self.calls)
        runs = Counter(self.invocations)
        return ", ".join(f"{_short(f)} ×{n}: {per.get(f, 0)}" for f, n in runs.items())

    def detail(self) -> str:
        return "; ".join(f"{_short(f)} {op} {key}" for f, op, key in self.calls)


def _short(function: str) -> str:
    return function.removesuffix("Function")


def _key(params: dict[str, Any]) -> str:
    key = params.get("Key") or params.get("Item")
    if key:
        pk = key.get("pk", {}).get("S", "")
        return pk.split("#", 1)[0] + "#…" if "#" in pk else pk
    if "TransactItems" in params:
        return f"[{len(params['TransactItems'])} items]"
    values = params.get("ExpressionAttributeValues") or {}
    return str(values.get(":pk", {}).get("S", "")).split("#", 1)[0] + "#…"


class Counter_:
    """Records invocations and attributed DynamoDB calls into the open window."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.window: Window | None = None
        self.unattributed = 0
        self.last_activity = time.monotonic()

    @contextlib.contextmanager
    def installed(self) -> Iterator[Counter_]:
        from botocore.client import BaseClient

        from local import motoshim

        real_invoke, real_call = motoshim.invoke_local, BaseClient._make_api_call
        counter = self

        def invoke(function_name: str, event: Any, region: str = "us-east-1") -> tuple[Any, bool]:
            with counter._lock:
                counter.last_activity = time.monotonic()
                if counter.window is not None:
                    counter.window.invocations.append(function_name.rsplit(":", 1)[-1])
            try:
                return real_invoke(function_name, event, region)
            finally:
                counter.last_activity = time.monotonic()

        def call(client: Any, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name == "dynamodb":
                function = motoshim.current_function()
                with counter._lock:
                    if counter.window is not None:
                        if function is None:
                            counter.unattributed += 1
                        else:
                            counter.window.calls.append((function, operation, _key(params)))
            return real_call(client, operation, params)

        with mock.patch.object(motoshim, "invoke_local", invoke), \
                mock.patch.object(BaseClient, "_make_api_call", call):
            yield self

    def measure(self, action: Callable[[], Any], done: Callable[[], Any], timeout: float = 30.0) -> Window:
        """Run `action`, then wait until `done()` holds and no handler has run for QUIET_SECONDS."""
        from local import motoshim

        with self._lock:
            self.window = Window()
        action()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done() and motoshim.in_flight() == 0 and time.monotonic() - self.last_activity > QUIET_SECONDS:
                break
            time.sleep(0.05)
        else:
            raise TimeoutError("the measured action did not settle")
        with self._lock:
            window, self.window = self.window, None
        return window


# -- approvals ---------------------------------------------------------------------------------------

def _execution_done(stack: Any, approval_id: str) -> bool:
    from bench.bench_sfn_transitions import _executions

    runs = _executions(stack, "ApprovalStateMachine", f"approval-{approval_id}")
    return bool(runs) and all(e["status"] != "RUNNING" for e in runs)


def _approve_all(stack: Any, sandbox: Any, simulator: Any, counter: Counter_, approvers: list[str]
                 ) -> list[Window]:
    from bench.bench_sfn_transitions import _cards, _wait

    resp = stack.http("POST", "/approvals", body=json.dumps({
        "type": "expense", "applicant": "zhangsan", "form": {"amount": 3000, "reason": "客户拜访差旅"}},
        ensure_ascii=False).encode())
    approval = json.loads(resp["body"])
    windows = []
    for i, userid in enumerate(approvers):
        card = _wait(lambda u=userid: _cards(sandbox, approval["id"], u))[0]
        _wait(lambda: time.monotonic() - counter.last_activity > QUIET_SECONDS)

        def click(u: str = userid, task_id: str = card["task_id"]) -> None:
            simulator.click(u, task_id, "approve")
            stack.drain()

        if i + 1 < len(approvers):
            done: Callable[[], Any] = lambda n=approvers[i + 1]: _cards(sandbox, approval["id"], n)  # noqa: E731
        else:
            done = lambda: _execution_done(stack, approval["id"])  # noqa: E731
        windows.append(counter.measure(click, done))
    status = json.loads(stack.http("GET", f"/approvals/{approval['id']}")["body"])["status"]
    assert status == "approved", f"the measured approval ended {status}"
    return windows


def _click_run() -> list[Window]:
    from bench.bench_sfn_transitions import _local_app
    from tests.integration.approvals.helpers import START

    counter = Counter_()
    with _local_app(START, 1.0) as (stack, sandbox, simulator), counter.installed():
        approvers = ["qianjin", "wangjianguo"]
        _approve_all(stack, sandbox, simulator, counter, approvers)  # warms the container's caches
        windows = _approve_all(stack, sandbox, simulator, counter, approvers)
    assert counter.unattributed == 0, "DynamoDB calls outside any function"
    return windows


# -- tickets -----------------------------------------------------------------------------------------

def _held_clock(start: datetime) -> Any:
    """A manual clock whose Wait states last their virtual length in real time (days): the ticket's
    timer sleeps while the bench moves the clock and runs each wake-up itself, so every figure is the
    same on every run (a compressed clock coalesces or splits wake-ups with the machine's speed)."""
    from wecom_oa.clock import ManualClock

    class HeldClock(ManualClock):
        def real_seconds(self, seconds: float) -> float:
            return seconds

    return HeldClock(start)


def _create_ticket(stack: Any) -> dict[str, Any]:
    resp = stack.http("POST", "/tickets", body=json.dumps({
        "type": "repair", "title": "3号产线包装机异响", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "包装机", "location": "一号厂房"}}, ensure_ascii=False).encode())
    assert resp["statusCode"] == 201, resp
    return json.loads(resp["body"])


def _ticket_run() -> tuple[Window, list[Window]]:
    """A repair ticket created Friday 17:30 (after a first one warmed the caches), left unanswered.
    Returns its creation (the API call and the timer's first check, until the timer sleeps) and each
    wake-up of its timer that escalated, run at its due instant as the Wait state would run it."""
    from bench.bench_sfn_transitions import _executions, _local_app
    from wecom_oa.clock import set_clock

    start = datetime.fromisoformat("2026-11-20T17:30:00+08:00")
    counter = Counter_()
    with _local_app(start, 1.0) as (stack, sandbox, _), counter.installed():
        from local import motoshim

        clock = _held_clock(start)
        set_clock(clock)
        sfn = stack.client("stepfunctions")

        def sleeping(ticket_id: str) -> dict[str, Any] | None:
            runs = _executions(stack, "TicketEscalationStateMachine", ticket_id)
            return runs[0] if runs and _slept_once(stack, runs[0]["executionArn"]) else None

        warm = _create_ticket(stack)
        _wait_for(lambda: sleeping(warm["id"]))
        state: dict[str, Any] = {}
        creation = counter.measure(lambda: state.update(ticket=_create_ticket(stack)),
                                   lambda: "ticket" in state and sleeping(state["ticket"]["id"]))
        run = sleeping(state["ticket"]["id"])
        assert run is not None
        generation = json.loads(sfn.describe_execution(executionArn=run["executionArn"])["input"])["generation"]
        wakeup = _first_wakeup(stack, run["executionArn"])
        escalations: list[Window] = []
        try:
            for _ in range(20):
                if wakeup is None:
                    break
                clock.set(datetime.fromisoformat(wakeup.replace("Z", "+00:00")))
                before = len(sandbox.messages())
                result: dict[str, Any] = {}
                window = counter.measure(
                    lambda r=result: r.update(_check(motoshim, state["ticket"]["id"], generation)),
                    lambda r=result: bool(r))
                if any("工单升级" in (m.get("content") or "") for m in sandbox.messages()[before:]):
                    escalations.append(window)
                wakeup = None if result.get("done") else result.get("next_wakeup")
        finally:
            for ticket_id in (warm["id"], state["ticket"]["id"]):
                for e in _executions(stack, "TicketEscalationStateMachine", ticket_id):
                    if e["status"] == "RUNNING":
                        sfn.stop_execution(executionArn=e["executionArn"])
    assert counter.unattributed == 0, "DynamoDB calls outside any function"
    return creation, escalations


def _check(motoshim: Any, ticket_id: str, generation: int) -> dict[str, Any]:
    result, is_error = motoshim.invoke_local("TicketEscalationFunction", {"ticket_id": ticket_id,
                                                                         "generation": generation})
    assert not is_error, result
    return dict(result)


def _wait_for(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    from bench.bench_sfn_transitions import _wait

    return _wait(predicate, timeout)


def _first_wakeup(stack: Any, execution_arn: str) -> str | None:
    events = stack.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=100)["events"]
    outputs = [json.loads(e["taskSucceededEventDetails"]["output"]) for e in events if "taskSucceededEventDetails" in e]
    return outputs[0]["Payload"]["next_wakeup"] if outputs else None


def _slept_once(stack: Any, execution_arn: str) -> bool:
    events = stack.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=100)["events"]
    return any(e["type"] == "WaitStateEntered" for e in events)


# -- report ------------------------------------------------------------------------------------------


def _row(label: str, w: Window, max_inv: int, max_calls: int) -> tuple[str, bool]:
    ok = len(w.invocations) <= max_inv and w.dynamodb <= max_calls
    return (f"| {label} | {len(w.invocations)} (≤ {max_inv}) | {w.dynamodb} (≤ {max_calls}) | {w.reads} | {w.writes} "
            f"| {w.by_function()} | {'✓' if ok else '✗ OVER'} |"), ok


def run() -> str:
    middle, last = _click_run()
    creation, escalations = _ticket_run()
    if not escalations:
        raise BudgetMissed("no escalation happened in the ticket scenario")
    escalation = max(escalations, key=lambda w: (len(w.invocations), w.dynamodb))
    rows = [
        _row("click deciding stage 1 of 2 (next stage's card sent)", middle, CLICK_INVOCATIONS, CLICK_DYNAMODB_CALLS),
        _row("click deciding the last stage (approval finished)", last, CLICK_INVOCATIONS, CLICK_DYNAMODB_CALLS),
        _row("ticket creation (POST /tickets until its timer sleeps)", creation, TICKET_CREATION_INVOCATIONS,
             TICKET_CREATION_DYNAMODB_CALLS),
        _row(f"escalation level (the costliest of {len(escalations)} escalating wake-ups)", escalation,
             ESCALATION_INVOCATIONS, ESCALATION_DYNAMODB_CALLS),
    ]
    lines = [
        "## Click path: Lambda invocations and DynamoDB calls per click, ticket creation and escalation",
        "",
        "Counted from real execution of the local stack: handler runs at `motoshim.invoke_local`, DynamoDB "
        "operations at the boto3 client, attributed to the function running them. Clicks: an expense of 3000 "
        "(finance → general manager), one 同意 per stage through the WeCom callback, warm caches, real-time clock.",
        "",
        "| what | invocations | DynamoDB calls | reads | writes | calls per function | budget |",
        "|---|---:|---:|---:|---:|---|---|",
        *[r for r, _ in rows],
        "",
        f"Escalating wake-ups (invocations, DynamoDB calls): "
        f"{', '.join(f'({len(w.invocations)}, {w.dynamodb})' for w in escalations)}; the budget holds the costliest.",
        "",
        "Calls of the clicks: " + " · ".join(f"**{n}**: {w.detail()}" for n, w in (("stage 1", middle),
                                                                                   ("last stage", last))),
    ]
    section = "\n".join(lines) + "\n"
    if not all(ok for _, ok in rows):
        raise BudgetMissed(section)
    return section
