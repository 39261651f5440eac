"""A WeCom form ends without a decision (撤销, 删除) or is revoked after approval (通过后撤销):
the approval ends once, other systems get one event, and the handover colleagues are told it is off."""

from __future__ import annotations

import pytest

from tests.integration.approvals.helpers import capture_events, get, seen_by
from tests.integration.approvals_native.helpers import (
    apply_native,
    decide,
    drain_events,
    redeliver,
    texts_with,
)

LEAVE = {"leave_type": "annual", "start": "2026-03-05", "end": "2026-03-06", "days": 2, "handover_to": ["lisi"]}


def _submit(app, approval_type: str, applicant: str, form: dict) -> dict:
    status, body = app.http("POST", "/approvals", {"type": approval_type, "applicant": applicant, "form": form,
                                                   "channel": "wecom"})
    assert status == 201, body
    return body


def _withdraw(app, sp_no: str, userid: str) -> dict:
    result = app.simulator.withdraw_approval(sp_no, userid)
    assert result["status"] == 200, result
    app.stack.drain()
    return result


def _handover_texts(app, userid: str, marker: str) -> list[str]:
    return seen_by(app, userid, marker)


def test_given_pending_wecom_expense_when_the_applicant_withdraws_twice_delivered_then_withdrawn_once(app) -> None:
    read = capture_events(app)
    a = _submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车"})
    sp_no = get(app, a["id"])["sp_no"]

    result = _withdraw(app, sp_no, "zhangsan")
    redeliver(app, sp_no, result["xml"])

    body = get(app, a["id"])
    assert (result["sp_status"], body["status"]) == (4, "withdrawn")
    assert [(e["detail-type"], e["detail"]["id"]) for e in drain_events(read)] == [("approval.withdrawn", a["id"])]
    with pytest.raises(Exception, match="already decided"):
        app.sandbox.decide_approval(sp_no, "lina", True)


def test_given_withdrawn_approval_when_a_stale_approved_callback_arrives_then_it_stays_withdrawn(app) -> None:
    read = capture_events(app)
    a = _submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车"})
    sp_no = get(app, a["id"])["sp_no"]
    info = app.sandbox.approval(sp_no)
    approved = {**info, "sp_status": 2}  # WeCom's earlier approval callback, delivered late
    _withdraw(app, sp_no, "zhangsan")

    app.simulator.approval_change(sp_no, approved, statu_change_event=2)
    app.stack.drain()

    assert get(app, a["id"])["status"] == "withdrawn"
    assert [e["detail-type"] for e in drain_events(read)] == ["approval.withdrawn"]


def test_given_approved_wecom_leave_when_revoked_then_revoked_event_and_handover_cancelled_once(app) -> None:
    read = capture_events(app)
    a = _submit(app, "leave", "zhangsan", LEAVE)
    sp_no = get(app, a["id"])["sp_no"]
    decide(app, sp_no, "lina")

    result = _withdraw(app, sp_no, "zhangsan")
    redeliver(app, sp_no, result["xml"])

    body = get(app, a["id"])
    assert (result["sp_status"], body["status"]) == (6, "revoked") and body["revoked_at"]
    events = drain_events(read)
    assert [e["detail-type"] for e in events] == ["approval.approved", "approval.revoked"]
    assert events[1]["detail"]["form"]["start"] == "2026-03-05" and events[1]["detail"]["status"] == "revoked"
    assert len(_handover_texts(app, "lisi", "已批准")) == 1
    cancelled = _handover_texts(app, "lisi", "已撤销")
    assert len(cancelled) == 1 and a["id"] in cancelled[0] and "2026-03-05" in cancelled[0]


def test_given_native_leave_approved_in_wecom_when_revoked_then_revoked_event_and_handover_cancelled(app) -> None:
    read = capture_events(app)
    sp_no = apply_native("native_leave_zero_balance_applyevent.json")  # lisi's leave, handover to zhangsan
    decide(app, sp_no, "lina")

    result = _withdraw(app, sp_no, "lisi")
    redeliver(app, sp_no, result["xml"])

    events = drain_events(read)
    assert [e["detail-type"] for e in events] == ["approval.approved", "approval.revoked"]
    assert events[1]["detail"]["sp_no"] == sp_no and events[1]["detail"]["form"]["handover_to"] == ["zhangsan"]
    assert len(_handover_texts(app, "zhangsan", "已撤销")) == 1


def test_given_native_leave_in_review_when_withdrawn_then_no_event_and_nobody_told(app) -> None:
    read = capture_events(app)
    sp_no = apply_native("native_leave_zero_balance_applyevent.json")

    _withdraw(app, sp_no, "lisi")

    assert drain_events(read) == []
    assert texts_with(app, "交接") == []


def test_given_someone_else_when_withdrawing_a_form_then_the_sandbox_refuses(app) -> None:
    sp_no = apply_native("native_leave_zero_balance_applyevent.json")

    with pytest.raises(Exception, match="only the applicant"):
        app.sandbox.withdraw_approval(sp_no, "lina")
    decide(app, sp_no, "lina", approve=False)
    with pytest.raises(Exception, match="can no longer be withdrawn"):
        app.sandbox.withdraw_approval(sp_no, "lisi")
