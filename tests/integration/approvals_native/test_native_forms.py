"""Forms submitted in WeCom's 审批 app: pre-check findings on submission, post actions once on approval."""

from __future__ import annotations

from tests.integration.approvals.helpers import capture_events, seen_by, submit
from tests.integration.approvals_native.helpers import (
    apply_native,
    callback_keys,
    decide,
    deliver_submitted,
    drain_events,
    redeliver,
    texts_with,
)


def test_given_native_leave_with_no_balance_when_submitted_then_approvers_and_applicant_get_the_findings(app) -> None:
    # Given lisi (0 days of 年假) asks for 2 days of annual leave in WeCom, lina approving
    sp_no = apply_native("native_leave_zero_balance_applyevent.json")
    # When WeCom reports the submission
    deliver_submitted(app, sp_no)
    # Then one pre-check note naming the approval went to the approver and the applicant
    notes = texts_with(app, sp_no)
    assert len(notes) == 1, notes
    assert set(notes[0]["recipients"]["userids"]) == {"lina", "lisi"}
    assert "预检查" in notes[0]["content"] and "年假" in notes[0]["content"]


def test_given_native_leave_when_finally_approved_twice_then_event_and_handover_once(app) -> None:
    read = capture_events(app)
    sp_no = apply_native("native_leave_zero_balance_applyevent.json")
    deliver_submitted(app, sp_no)
    # When lina approves in WeCom, and WeCom delivers that final callback again (another CreateTime)
    final = decide(app, sp_no, "lina")
    redeliver(app, sp_no, final["xml"])
    # Then both deliveries were accepted as distinct events ...
    assert final["sp_status"] == 2
    assert len([k for k in callback_keys(app, sp_no) if k.startswith(f"EVENT#apv:{sp_no}:2:2:")]) == 2
    # ... yet approval.approved was published once and the handover colleague told once
    events = drain_events(read)
    assert [e["detail-type"] for e in events] == ["approval.approved"]
    assert events[0]["detail"]["sp_no"] == sp_no and events[0]["detail"]["type"] == "leave"
    assert events[0]["detail"]["form"]["handover_to"] == ["zhangsan"]
    handovers = seen_by(app, "zhangsan", "交接")
    assert len(handovers) == 1 and "2026-03-05" in handovers[0], handovers


def test_given_native_leave_when_rejected_then_no_event_and_no_handover(app) -> None:
    read = capture_events(app)
    sp_no = apply_native("native_leave_zero_balance_applyevent.json")

    decide(app, sp_no, "lina", approve=False)

    assert drain_events(read) == []
    assert [m for m in texts_with(app, "交接") if "zhangsan" in m["recipients"]["userids"]] == []


def test_given_invoice_used_before_when_native_expense_submitted_then_the_reuse_is_flagged(app) -> None:
    # Given zhangsan's expense already used invoice INV-2026-0042
    submit(app, "expense", "zhangsan", {"amount": 120, "reason": "打车", "invoice_no": "INV-2026-0042"})
    # When wangwu submits an expense in WeCom with the same invoice number
    sp_no = apply_native("native_expense_reused_invoice_applyevent.json")
    deliver_submitted(app, sp_no)
    # Then the approver and wangwu are told about the reused invoice
    notes = texts_with(app, sp_no)
    assert len(notes) == 1, notes
    assert set(notes[0]["recipients"]["userids"]) == {"wufang", "wangwu"}
    assert "发票" in notes[0]["content"]


def test_given_native_expense_without_findings_when_submitted_then_nobody_is_messaged(app) -> None:
    sp_no = apply_native("native_expense_reused_invoice_applyevent.json")  # first use of that invoice

    deliver_submitted(app, sp_no)

    assert texts_with(app, sp_no) == []
