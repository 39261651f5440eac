"""POST /approvals with "channel": "wecom": our rule set routes, WeCom's 审批 app collects the decisions."""

from __future__ import annotations

import pytest

from tests.integration.approvals.helpers import capture_events, execution_status, get, seen_by, texts_to
from tests.integration.approvals_native.helpers import (
    decide,
    deliver_submitted,
    drain_events,
    redeliver,
    texts_with,
)


def _submit(app, approval_type: str, applicant: str, form: dict) -> dict:
    status, body = app.http("POST", "/approvals", {"type": approval_type, "applicant": applicant, "form": form,
                                                   "channel": "wecom"})
    assert status == 201, body
    return body


def _applyevent_bodies(app) -> list[dict]:
    return [c["body"] for c in app.sandbox.calls() if c["path"] == "oa/applyevent" and c["errcode"] == 0]


def test_given_small_expense_when_submitted_via_wecom_then_form_carries_our_route_and_no_execution(app) -> None:
    a = _submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车", "invoice_no": "INV-W1"})

    body = get(app, a["id"])
    assert (body["status"], body["channel"]) == ("pending", "wecom") and body["sp_no"]
    [sent] = _applyevent_bodies(app)
    assert sent["creator_userid"] == "zhangsan" and sent["template_id"] == "sandbox-tpl-expense"
    assert sent["use_template_approver"] == 0
    assert sent["process"] == {"node_list": [{"type": 1, "apv_rel": 2, "userid": ["lina"]}]}
    values = {c["id"]: c["value"] for c in sent["apply_data"]["contents"]}
    assert values == {"Money-1": {"new_money": "800"}, "Textarea-1": {"text": "打车"}, "Text-1": {"text": "INV-W1"}}
    assert app.sandbox.approval(body["sp_no"])["sp_record"][0]["details"][0]["approver"]["userid"] == "lina"
    assert execution_status(app, a["id"]) is None


def test_given_wecom_expense_when_approved_in_wecom_then_get_shows_approved_and_event_once(app) -> None:
    read = capture_events(app)
    a = _submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车"})
    sp_no = get(app, a["id"])["sp_no"]
    deliver_submitted(app, sp_no)
    assert get(app, a["id"])["status"] == "pending"

    final = decide(app, sp_no, "lina")
    redeliver(app, sp_no, final["xml"])

    body = get(app, a["id"])
    assert (body["status"], body["decided_by"]) == ("approved", "lina")
    events = drain_events(read)
    assert [(e["detail-type"], e["detail"]["id"]) for e in events] == [("approval.approved", a["id"])]
    assert events[0]["detail"]["ruleset_version"] == 1 and events[0]["detail"]["sp_no"] == sp_no


def test_given_large_expense_when_each_wecom_node_approves_then_approved_only_after_the_last(app) -> None:
    a = _submit(app, "expense", "zhangsan", {"amount": 2000, "reason": "设备"})
    sp_no = get(app, a["id"])["sp_no"]
    [sent] = _applyevent_bodies(app)
    assert sent["process"]["node_list"] == [{"type": 1, "apv_rel": 2, "userid": ["zhaomin", "qianjin"]},
                                            {"type": 1, "apv_rel": 2, "userid": ["wangjianguo"]}]

    first = decide(app, sp_no, "qianjin")  # node 1 done: StatuChangeEvent 2, SpStatus 1
    assert first["sp_status"] == 1 and get(app, a["id"])["status"] == "pending"
    decide(app, sp_no, "wangjianguo")

    body = get(app, a["id"])
    assert (body["status"], body["decided_by"]) == ("approved", "wangjianguo")


def test_given_wecom_expense_when_rejected_in_wecom_then_rejected_and_rejected_event(app) -> None:
    read = capture_events(app)
    a = _submit(app, "expense", "wangwu", {"amount": 200, "reason": "打车"})

    decide(app, get(app, a["id"])["sp_no"], "wufang", approve=False)

    body = get(app, a["id"])
    assert (body["status"], body["decided_by"]) == ("rejected", "wufang")
    assert [e["detail-type"] for e in drain_events(read)] == ["approval.rejected"]


def test_given_wecom_leave_when_approved_then_form_round_trips_and_handover_is_sent(app) -> None:
    from wecom_oa.approvals.service import native_form, native_templates

    form = {"leave_type": "annual", "start": "2026-03-05", "end": "2026-03-06", "days": 2, "handover_to": ["lisi"]}
    a = _submit(app, "leave", "zhangsan", form)
    sp_no = get(app, a["id"])["sp_no"]
    fields = native_templates()["sandbox-tpl-leave"]["fields"]

    stored = native_form(app.sandbox.approval(sp_no)["apply_data"], fields)
    assert {**stored, "days": float(stored["days"])} == {**form, "days": 2.0}
    decide(app, sp_no, "lina")
    assert get(app, a["id"])["status"] == "approved"
    handovers = seen_by(app, "lisi", a["id"])  # a to-do card with a 完成 button
    assert len(handovers) == 1 and "2026-03-05" in handovers[0] and "[完成]" in handovers[0], handovers


def test_given_findings_when_wecom_reports_submission_then_stored_findings_reach_approver_and_applicant(app) -> None:
    _submit(app, "expense", "zhangsan", {"amount": 100, "reason": "打车", "invoice_no": "INV-W7"})
    a = _submit(app, "expense", "wangwu", {"amount": 100, "reason": "打车", "invoice_no": "INV-W7"})
    assert [f["code"] for f in a["findings"]] == ["duplicate_invoice"]
    sp_no = get(app, a["id"])["sp_no"]

    deliver_submitted(app, sp_no)

    [note] = texts_with(app, sp_no)
    assert set(note["recipients"]["userids"]) == {"wufang", "wangwu"} and "发票" in note["content"]


def test_given_no_balance_when_submitted_via_wecom_then_auto_rejected_without_a_wecom_form(app) -> None:
    a = _submit(app, "leave", "lisi", {"leave_type": "annual", "start": "2026-03-05", "end": "2026-03-06", "days": 2})

    assert a["status"] == "auto_rejected"
    assert _applyevent_bodies(app) == [] and get(app, a["id"])["sp_no"] is None
    assert any(a["id"] in t for t in texts_to(app, "lisi"))


def test_given_type_without_wecom_template_when_channel_wecom_then_400_naming_channel(fast_rules) -> None:
    status, body = fast_rules.http("POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                                          "form": {"amount": 800, "reason": "x"}, "channel": "wecom"})

    assert status == 400 and body["error"]["message"].startswith("channel")
    assert _applyevent_bodies(fast_rules) == []


@pytest.mark.parametrize("channel", ["fax", ""])
def test_given_unknown_channel_then_400(app, channel) -> None:
    status, body = app.http("POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                                   "form": {"amount": 800, "reason": "x"}, "channel": channel})

    assert status == 400 and body["error"]["message"].startswith("channel")


def test_given_hourly_comp_time_when_submitted_via_wecom_then_an_hour_range_of_8h_days_round_trips(app) -> None:
    from wecom_oa.approvals.service import native_form, native_templates

    # zhaomin has 2 days of 调休, an hourly leave type of 8 h a day in the sandbox company
    form = {"leave_type": "comp_time", "start": "2026-03-05", "end": "2026-03-05", "days": 1.5,
            "handover_to": ["qianjin"]}
    a = _submit(app, "leave", "zhaomin", form)

    [sent] = _applyevent_bodies(app)
    [vacation] = [c["value"]["vacation"] for c in sent["apply_data"]["contents"] if c["control"] == "Vacation"]
    span = vacation["attendance"]["date_range"]
    assert (span["type"], span["new_duration"]) == ("hour", int(1.5 * 8 * 3600))
    stored = native_form(app.sandbox.approval(get(app, a["id"])["sp_no"])["apply_data"],
                         native_templates()["sandbox-tpl-leave"]["fields"])
    assert float(stored["days"]) == 1.5 and stored["leave_type"] == "comp_time"


def test_given_a_two_node_wecom_expense_then_the_approval_records_whom_each_node_waits_on(app) -> None:
    from wecom_oa.aws.dynamo import Keys, app_table

    a = _submit(app, "expense", "zhangsan", {"amount": 2000, "reason": "设备"})
    sp_no = get(app, a["id"])["sp_no"]
    deliver_submitted(app, sp_no)
    first = app_table().get(Keys.approval(a["id"]))
    decide(app, sp_no, "qianjin")  # node 1 done (或签): WeCom now waits on the general manager
    second = app_table().get(Keys.approval(a["id"]))

    assert (first["current_approver"], first["owner_name"]) == ("zhaomin", "赵敏、钱进")
    assert (second["current_approver"], second["owner_name"]) == ("wangjianguo", "王建国")
