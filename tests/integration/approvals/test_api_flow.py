"""The approvals HTTP API end to end on the local app: submit, cards, clicks, status."""

from __future__ import annotations

import pytest

from tests.integration.approvals.helpers import card_for, final, submit


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "travel", "applicant": "zhangsan", "form": {}}, "type"),
    ({"type": "expense", "applicant": "zhangsan", "form": {"reason": "x"}}, "form.amount"),
    ({"type": "expense", "applicant": "zhangsan", "form": {"amount": -5, "reason": "x"}}, "form.amount"),
    ({"type": "expense", "applicant": "zhangsan", "form": {"amount": "lots", "reason": "x"}}, "form.amount"),
    ({"type": "expense", "form": {"amount": 5, "reason": "x"}}, "applicant"),
    ({"type": "leave", "applicant": "zhangsan", "form": {"leave_type": "annual", "start": "2026-03-05",
                                                          "end": "2026-03-04", "days": 1}}, "form"),
])
def test_given_bad_request_when_posted_then_400_naming_the_field(app, body, field) -> None:
    status, resp = app.http("POST", "/approvals", body)

    assert status == 400
    assert resp["error"]["message"].startswith(field)


def test_given_dry_run_then_explained_and_nothing_stored_or_sent(app) -> None:
    status, resp = app.http("POST", "/approvals/evaluate",
                            {"type": "expense", "applicant": "zhangsan", "form": {"amount": 800, "reason": "打车"}})

    assert status == 200 and resp["outcome"] == "route" and resp["matched_rows"] == ["small"]
    assert any("满足 <= 1000" in line for line in resp["explanation"])
    assert app.messages() == []
    assert app.stack.client("dynamodb").scan(TableName=app.stack.env["TABLE_NAME"],
                                             FilterExpression="begins_with(pk, :p)",
                                             ExpressionAttributeValues={":p": {"S": "APPROVAL#"}})["Count"] == 0


def test_given_submitted_expense_when_approver_clicks_approve_then_get_shows_approved(app) -> None:
    a = submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车", "invoice_no": "INV-1"})
    assert a["status"] == "pending" and a["outcome"] == "route"
    card = card_for(app, a["id"], "lina")
    assert [b["key"] for b in card["card"]["button_list"]] == ["approve", "reject"]

    app.click("lina", card["task_id"], "approve")
    app.click("lina", card["task_id"], "reject")  # second click: no-op

    body = final(app, a["id"])
    assert body["status"] == "approved" and body["ruleset_version"] == 1 and body["matched_rows"] == ["small"]
    assert body["inputs"] == {"amount": "800"} and body["form"]["invoice_no"] == "INV-1"
    assert body["stages"][0]["decisions"] == [
        {"userid": "lina", "decision": "approved", "round": 1, "at": body["stages"][0]["decisions"][0]["at"]}]
    updates = [m for m in app.messages() if m["api"] == "message/update_template_card"]
    assert updates and updates[-1]["card"]["replace_text"] == "已同意"


def test_given_submitted_expense_when_rejected_then_get_shows_rejected(app) -> None:
    a = submit(app, "expense", "wangwu", {"amount": 200, "reason": "打车"})

    app.reject("wufang", card_for(app, a["id"], "wufang")["task_id"])

    body = final(app, a["id"])
    assert body["status"] == "rejected" and body["decided_by"] == "wufang"


def test_given_reused_invoice_when_submitted_then_flagged_on_the_card(app) -> None:
    submit(app, "expense", "zhangsan", {"amount": 100, "reason": "打车", "invoice_no": "INV 9"})

    second = submit(app, "expense", "wangwu", {"amount": 100, "reason": "打车", "invoice_no": "inv9"})

    assert [f["code"] for f in second["findings"]] == ["duplicate_invoice"]
    card = card_for(app, second["id"], "wufang")
    assert "发票号" in card["card"]["sub_title_text"]


def test_given_unknown_id_then_404(app) -> None:
    status, _ = app.http("GET", "/approvals/AP00000000-missing")
    assert status == 404
