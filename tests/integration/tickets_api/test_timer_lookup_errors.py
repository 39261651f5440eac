"""Ticket timers when Step Functions answers with an error: only "the execution does not exist"
means the timer is missing. Any other error (AccessDenied, throttling) must neither re-arm a
ticket whose timer may well be running nor pass unnoticed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from wecom_oa.clock import VirtualClock, set_clock


@pytest.fixture
def app(local_app):
    # Real-time scale: an armed timer sleeps for hours and stays out of the way.
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-23T10:00:00+08:00"), scale=1.0))
    yield local_app
    set_clock(None)


def _repair(app, title: str) -> dict[str, Any]:
    status, ticket = app.http("POST", "/tickets", {
        "type": "repair", "title": title, "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "设备", "location": "一号厂房"}})
    assert status == 201, ticket
    return ticket


def _executions(app, ticket_id: str) -> dict[str, str]:
    sfn = app.stack.client("stepfunctions")
    arn = app.stack.physical["TicketEscalationStateMachine"]["Arn"]
    return {e["name"]: e["status"] for e in sfn.list_executions(stateMachineArn=arn)["executions"]
            if e["name"].startswith(ticket_id)}


def _failing(code: str, operation: str):
    def fail(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": code, "Message": "simulated"}}, operation)

    return fail


def _warnings(caplog: pytest.LogCaptureFixture) -> list:
    return [r for r in caplog.records if r.name == "wecom-oa" and r.levelname == "WARNING"]


def _reconcile(app) -> dict[str, int]:
    return app.stack.fire("ticket-reconcile")["result"]


def test_given_an_open_ticket_whose_current_timer_never_started_when_reconciled_then_it_is_rearmed(app) -> None:
    from wecom_oa.aws.dynamo import Keys, app_table

    # Given generation 2 recorded but never started (a crash between the bump and StartExecution)
    ticket = _repair(app, "冷却塔异响")
    app_table().update(Keys.ticket(ticket["id"]), add_fields={"timer_generation": 1})
    assert f"{ticket['id']}-g2" not in _executions(app, ticket["id"])

    # When the reconcile schedule fires, Then the next generation runs, and only once
    assert _reconcile(app) == {"rearmed": 1, "errors": 0}
    assert _executions(app, ticket["id"])[f"{ticket['id']}-g3"] == "RUNNING"
    assert _reconcile(app) == {"rearmed": 0, "errors": 0}


@pytest.mark.parametrize("code", ["AccessDeniedException", "ThrottlingException"])
def test_given_describe_execution_fails_when_reconciled_then_the_ticket_is_left_alone_and_the_error_counted(
    app, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, code: str,
) -> None:
    from wecom_oa import wiring

    ticket = _repair(app, "空压机漏气")
    before = _executions(app, ticket["id"])
    monkeypatch.setattr(wiring.aws("stepfunctions"), "describe_execution", _failing(code, "DescribeExecution"))

    result = _reconcile(app)

    # Then no new generation (its timer may well be running), and the failure is visible
    assert result == {"rearmed": 0, "errors": 1}
    assert _executions(app, ticket["id"]) == before == {f"{ticket['id']}-g1": "RUNNING"}
    assert [getattr(r, "code", None) for r in _warnings(caplog)] == [code]


def test_given_stop_execution_is_denied_when_the_ticket_is_accepted_then_the_next_timer_starts_and_it_is_logged(
    app, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    from wecom_oa import wiring

    ticket = _repair(app, "叉车无法启动")
    monkeypatch.setattr(wiring.aws("stepfunctions"), "stop_execution",
                        _failing("AccessDeniedException", "StopExecution"))

    status, accepted = app.http("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})

    # Then the action stands and the next generation runs (the old one ends itself on the stale generation)
    assert status == 200 and accepted["status"] == "in_progress", accepted
    assert _executions(app, ticket["id"])[f"{ticket['id']}-g2"] == "RUNNING"
    assert [(r.getMessage(), getattr(r, "code", None)) for r in _warnings(caplog)] == [
        ("previous ticket timer could not be stopped", "AccessDeniedException")]


def test_given_the_previous_timer_does_not_exist_when_the_ticket_is_accepted_then_nothing_is_reported(
    app, caplog: pytest.LogCaptureFixture,
) -> None:
    from wecom_oa.aws.dynamo import Keys, app_table

    ticket = _repair(app, "激光切割机报警")
    app_table().update(Keys.ticket(ticket["id"]), add_fields={"timer_generation": 1})  # g2 never started

    status, _ = app.http("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})

    assert status == 200
    assert _executions(app, ticket["id"])[f"{ticket['id']}-g3"] == "RUNNING"
    assert _warnings(caplog) == []
