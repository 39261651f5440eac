"""Handover to-dos become tasks: an approved leave gives each handover colleague one task in the
project group of their department (once, however often the approval is processed); a revoke
cancels them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.approvals.helpers import get
from tests.integration.approvals_native.helpers import decide, redeliver

CONFIG = Path(__file__).resolve().parents[2] / "fixtures" / "tasks" / "digests.yaml"
# lisi (华东一组) → proj-east, wangwu (华南一组) → proj-south, chenjing (销售部) → no group: no task.
LEAVE = {"leave_type": "annual", "start": "2026-03-05", "end": "2026-03-06", "days": 2,
         "handover_to": ["lisi", "wangwu", "chenjing"]}


@pytest.fixture
def groups_by_department(app):
    from wecom_oa.digests import service as digests
    from wecom_oa.digests.schedules import load_digest_config

    digests.configure(config=load_digest_config(CONFIG))
    yield app
    digests.reset()


def _approved_leave(app) -> tuple[dict, str, dict]:
    status, body = app.http("POST", "/approvals", {"type": "leave", "applicant": "zhangsan", "form": LEAVE,
                                                   "channel": "wecom"})
    assert status == 201, body
    sp_no = get(app, body["id"])["sp_no"]
    result = decide(app, sp_no, "lina")
    assert get(app, body["id"])["status"] == "approved"
    return body, sp_no, result


def _open_tasks(app, group: str) -> list[dict]:
    status, body = app.http("GET", "/tasks", query=f"group={group}")
    assert status == 200, body
    return body["items"]


def test_given_approved_leave_with_handover_when_processed_twice_then_one_task_per_colleague(
        groups_by_department) -> None:
    from wecom_oa.approvals import notifier
    from wecom_oa.approvals import service as approvals

    app = groups_by_department
    approval, sp_no, result = _approved_leave(app)
    redeliver(app, sp_no, result["xml"])  # WeCom re-delivers the approval callback
    notifier.send_handover(approvals.repo().get(approval["id"]))  # a retried post action

    east, south = _open_tasks(app, "proj-east"), _open_tasks(app, "proj-south")
    assert [(t["owner"], t["source"]) for t in east] == [("lisi", "handover")]
    assert [t["owner"] for t in south] == ["wangwu"]
    task = east[0]
    assert task["title"] == "接手张三的工作（2026-03-05 至 2026-03-06）"
    assert task["due_at"] == "2026-03-05T09:00:00+08:00"
    assert task["external_id"] == f"handover:{approval['id']}:lisi"
    assert [m for m in app.messages() if m["msgtype"] == "text" and "chenjing" in m["recipients"]["userids"]]


def test_given_handover_tasks_when_the_leave_is_revoked_then_they_are_cancelled(groups_by_department) -> None:
    app = groups_by_department
    approval, sp_no, _ = _approved_leave(app)
    task_id = _open_tasks(app, "proj-east")[0]["id"]

    result = app.simulator.withdraw_approval(sp_no, "zhangsan")
    assert result["status"] == 200, result
    app.stack.drain()
    redeliver(app, sp_no, result["xml"])

    assert get(app, approval["id"])["status"] == "revoked"
    assert _open_tasks(app, "proj-east") == [] and _open_tasks(app, "proj-south") == []
    status, task = app.http("GET", f"/tasks/{task_id}")
    assert (status, task["status"]) == (200, "cancelled") and task["cancelled_at"]


def test_given_groups_without_departments_when_a_leave_is_approved_then_no_task_and_the_handover_is_sent(
        app) -> None:
    from wecom_oa.digests import service as digests
    from wecom_oa.digests.schedules import load_digest_config

    digests.configure(config=load_digest_config(CONFIG).model_copy(update={"groups": []}))
    try:
        _approved_leave(app)
        texts = [m for m in app.messages() if m["msgtype"] == "text" and m["recipients"]["userids"][:1] == ["lisi"]]
        assert texts  # the handover reminder itself
        assert app.stack.client("dynamodb").scan(
            TableName=app.stack.env["TABLE_NAME"], FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": "TASK#"}})["Items"] == []
    finally:
        digests.reset()
