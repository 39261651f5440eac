"""The simulator's sys_approval_change XML (local/sandbox/callbacks.py) and the route → node_list mapping."""

from __future__ import annotations

from tests.integration.approvals_native.helpers import apply_native


def test_given_decided_sandbox_form_when_rendered_then_our_parser_reads_wecoms_fields(app) -> None:
    from local.sandbox.callbacks import approval_change_xml
    from wecom_oa.wecom.parser import parse_event

    sp_no = apply_native("native_leave_zero_balance_applyevent.json")
    info = app.sandbox.decide_approval(sp_no, "lina", True, "同意 <ok> & 好")

    event = parse_event(approval_change_xml(info, corp_id="ww-corp", agent_id=1000002, create_time=1772600000))

    a = event.approval
    assert (event.kind, event.from_user_name, event.create_time) == ("approval_change", "sys", 1772600000)
    assert (a.sp_no, a.sp_status, a.statu_change_event, a.template_id) == (sp_no, 2, 2, "sandbox-tpl-leave")
    assert a.applyer.user_id == "lisi" and event.approved
    [record] = a.sp_record
    assert record.approver_attr == 1 and record.sp_status == 2
    assert [(d.approver_user_id, d.sp_status, d.speech) for d in record.details] == [("lina", 2, "同意 <ok> & 好")]
    assert record.details[0].sp_time > 0
    assert event.idempotency_key == f"apv:{sp_no}:2:2:1772600000"


def test_given_fresh_form_when_rendered_then_it_is_a_submission(app) -> None:
    from local.sandbox.callbacks import approval_change_xml
    from wecom_oa.wecom.parser import parse_event

    sp_no = apply_native("native_expense_reused_invoice_applyevent.json")

    a = parse_event(approval_change_xml(app.sandbox.approval(sp_no), corp_id="c", agent_id=1, create_time=1)).approval

    assert (a.statu_change_event, a.sp_status, a.is_final) == (1, 1, False)
    assert [d.sp_time for r in a.sp_record for d in r.details] == [0]


def _stage(index: int, mode: str, approvers: list[str], skipped: bool = False):
    from wecom_oa.approvals.rules import ResolvedStage

    return ResolvedStage(index=index, name=f"s{index}", mode=mode, specs=[], approvers=approvers, skipped=skipped)


def test_given_any_all_and_sequential_stages_then_one_node_per_stage_and_per_sequential_approver() -> None:
    from wecom_oa.approvals.service import native_process

    route = [_stage(1, "any", ["a", "b"]), _stage(2, "all", ["c", "d"]), _stage(3, "sequential", ["e", "f"]),
             _stage(4, "any", ["g"], skipped=True), _stage(5, "any", [])]

    assert native_process(route)["node_list"] == [
        {"type": 1, "apv_rel": 2, "userid": ["a", "b"]}, {"type": 1, "apv_rel": 1, "userid": ["c", "d"]},
        {"type": 1, "apv_rel": 1, "userid": ["e"]}, {"type": 1, "apv_rel": 1, "userid": ["f"]}]
