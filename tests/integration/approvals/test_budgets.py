"""Department budgets on the local app: the expense pre-check reads what approvals consumed, once per
approval; a revoked WeCom approval gives its amount back; ERP systems set and read budgets over HTTP.

Demo budgets (config/budgets.yaml): 销售部 (department 9: chenjing, head fengtao) 50 000 per month.
"""

from __future__ import annotations

import shutil
from decimal import Decimal

import pytest

from tests.integration.approvals.helpers import card_for, final, get, submit
from tests.integration.approvals_native.helpers import apply_native, decide, redeliver
from wecom_oa.settings import PACKAGE_DIR

SALES = 9


@pytest.fixture
def api(app):
    """The app; the budgets routes come from template.yaml like every other route."""
    for method in ("PUT", "GET"):
        assert app.stack.route(method, f"/budgets/{SALES}") is not None, f"template.yaml lacks {method} /budgets"
    return app


def budget(app, department_id: int = SALES, query: str = "") -> dict:
    status, body = app.http("GET", f"/budgets/{department_id}", query=query)
    assert status == 200, body
    return body


def _approve_large(app, applicant: str, amount: int) -> dict:
    a = submit(app, "expense", applicant, {"amount": amount, "reason": "展会物料"})
    app.click("zhaomin", card_for(app, a["id"], "zhaomin")["task_id"], "approve")
    app.click("wangjianguo", card_for(app, a["id"], "wangjianguo")["task_id"], "approve")
    body = final(app, a["id"])
    assert body["status"] == "approved", body
    return body


def _submit_wecom(app, applicant: str, form: dict) -> dict:
    status, body = app.http("POST", "/approvals", {"type": "expense", "applicant": applicant, "form": form,
                                                   "channel": "wecom"})
    assert status == 201, body
    return get(app, body["id"])


def _revoke(app, sp_no: str, userid: str) -> dict:
    result = app.simulator.withdraw_approval(sp_no, userid)
    assert result["status"] == 200, result
    app.stack.drain()
    return result


def test_given_demo_budget_when_approvals_consume_it_then_the_next_expense_over_the_rest_is_flagged(api) -> None:
    fits = submit(api, "expense", "chenjing", {"amount": 800, "reason": "客户拜访"})
    assert fits["findings"] == []

    _approve_large(api, "chenjing", 49500)
    over = submit(api, "expense", "chenjing", {"amount": 800, "reason": "客户拜访"})

    assert [(f["code"], f["severity"]) for f in over["findings"]] == [("budget_exceeded", "flag")]
    assert over["findings"][0]["data"] == {"department_id": SALES, "amount": "800", "remaining": "500"}
    assert over["status"] == "pending"
    card = card_for(api, over["id"], "fengtao")
    assert "销售部" in card["card"]["sub_title_text"] and "500" in card["card"]["sub_title_text"]
    assert budget(api) | {"period": None} == {"department_id": SALES, "period": None, "budget": "50000",
                                              "spent": "49500", "remaining": "500", "source": "config"}
    assert budget(api)["period"] == "2026-03"


def test_given_approved_expense_when_finalize_runs_again_then_it_is_consumed_once(api) -> None:
    a = submit(api, "expense", "chenjing", {"amount": 650.5, "reason": "打车"})
    api.click("fengtao", card_for(api, a["id"], "fengtao")["task_id"], "approve")
    final(api, a["id"])
    assert budget(api)["spent"] == "650.5"

    api.stack.invoke("ApprovalBranchFunction", {"action": "finalize", "approval_id": a["id"]})
    api.stack.invoke("ApprovalBranchFunction", {"action": "finalize", "approval_id": a["id"]})

    assert budget(api)["spent"] == "650.5"


def test_given_rejected_expense_then_nothing_is_consumed(api) -> None:
    a = submit(api, "expense", "chenjing", {"amount": 300, "reason": "打车"})
    api.reject("fengtao", card_for(api, a["id"], "fengtao")["task_id"])

    assert final(api, a["id"])["status"] == "rejected"
    assert budget(api)["spent"] == "0"


def test_given_rule_set_rejecting_over_budget_when_expense_exceeds_it_then_auto_rejected(
        api, tmp_path, monkeypatch) -> None:
    from wecom_oa.settings import reset_settings

    config = tmp_path / "config"
    shutil.copytree(PACKAGE_DIR / "config", config)
    rules = config / "approval_rules" / "expense.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "{check: budget, on_fail: flag}" in text
    rules.write_text(text.replace("{check: budget, on_fail: flag}", "{check: budget, on_fail: reject}"),
                     encoding="utf-8")
    (config / "budgets.yaml").write_text("period: month\ndepartments: {9: 500}\n", encoding="utf-8")
    monkeypatch.setenv("OA_CONFIG_DIR", str(config))
    reset_settings()
    try:
        within = submit(api, "expense", "chenjing", {"amount": 500, "reason": "打车"})
        over = submit(api, "expense", "chenjing", {"amount": 500.01, "reason": "打车"})
    finally:
        monkeypatch.delenv("OA_CONFIG_DIR")
        reset_settings()

    assert (within["status"], within["findings"]) == ("pending", [])
    assert (over["status"], over["outcome"]) == ("auto_rejected", "auto_reject")
    assert [(f["code"], f["severity"]) for f in over["findings"]] == [("budget_exceeded", "reject")]
    assert "预算" in over["suggestion"]


def test_given_approved_wecom_expense_when_revoked_twice_delivered_then_the_amount_comes_back_once(api) -> None:
    a = _submit_wecom(api, "chenjing", {"amount": 800, "reason": "客户拜访"})
    decide(api, a["sp_no"], "fengtao")
    assert (get(api, a["id"])["status"], budget(api)["spent"]) == ("approved", "800")
    _approve_large(api, "chenjing", 1200)

    result = _revoke(api, a["sp_no"], "chenjing")
    redeliver(api, a["sp_no"], result["xml"])

    assert get(api, a["id"])["status"] == "revoked"
    assert budget(api) | {"period": None} == {"department_id": SALES, "period": None, "budget": "50000",
                                              "spent": "1200", "remaining": "48800", "source": "config"}


def test_given_native_expense_approved_in_wecom_when_revoked_then_consumed_and_given_back(api) -> None:
    sp_no = apply_native("native_expense_applyevent.json")  # chenjing, 680.00, approver fengtao

    decide(api, sp_no, "fengtao")
    assert budget(api)["spent"] == "680"
    _revoke(api, sp_no, "chenjing")

    assert budget(api)["spent"] == "0"


def test_given_erp_budget_when_put_then_get_returns_it_for_that_period_only(api) -> None:
    status, body = api.http("PUT", f"/budgets/{SALES}", {"amount": 80000})
    assert status == 200, body
    status, later = api.http("PUT", f"/budgets/{SALES}", {"amount": "12345.67", "period": "2026-11"})
    assert status == 200, later

    assert (body["period"], body["budget"], body["source"]) == ("2026-03", "80000", "api")
    assert budget(api)["budget"] == "80000" and budget(api)["remaining"] == "80000"
    assert budget(api, query="period=2026-11") | {"spent": None} == {
        "department_id": SALES, "period": "2026-11", "budget": "12345.67", "spent": None,
        "remaining": "12345.67", "source": "api"}
    assert Decimal(budget(api, 3)["budget"]) == Decimal(10000)  # untouched department keeps its YAML budget


def test_given_erp_budget_below_what_was_spent_when_next_expense_submitted_then_flagged(api) -> None:
    a = submit(api, "expense", "chenjing", {"amount": 900, "reason": "客户拜访"})
    api.click("fengtao", card_for(api, a["id"], "fengtao")["task_id"], "approve")
    final(api, a["id"])

    assert api.http("PUT", f"/budgets/{SALES}", {"amount": 1000})[0] == 200
    over = submit(api, "expense", "chenjing", {"amount": 100.01, "reason": "打车"})

    assert [f["code"] for f in over["findings"]] == ["budget_exceeded"]
    assert budget(api)["remaining"] == "100"


@pytest.mark.parametrize(("path", "body", "field"), [
    (f"/budgets/{SALES}", {"amount": -1}, "amount"),
    (f"/budgets/{SALES}", {"amount": "lots"}, "amount"),
    (f"/budgets/{SALES}", {"amount": 1.005}, "amount"),
    (f"/budgets/{SALES}", {}, "amount"),
    (f"/budgets/{SALES}", {"amount": 5, "period": "2026-13"}, "period"),
    (f"/budgets/{SALES}", {"amount": 5, "period": "2026-Q4"}, "period"),
    (f"/budgets/{SALES}", {"amount": 5, "currency": "USD"}, "currency"),
    ("/budgets/sales", {"amount": 5}, "department_id"),
])
def test_given_bad_budget_input_when_put_then_400_naming_the_field(api, path, body, field) -> None:
    status, resp = api.http("PUT", path, body)

    assert status == 400, resp
    assert resp["error"]["message"].startswith(field)


def test_given_bad_period_query_when_get_then_400_naming_period(api) -> None:
    status, resp = api.http("GET", f"/budgets/{SALES}", query="period=2026-3")

    assert status == 400 and resp["error"]["message"].startswith("period")


def test_given_unknown_department_then_404(api) -> None:
    assert api.http("PUT", "/budgets/999", {"amount": 5})[0] == 404
    assert api.http("GET", "/budgets/999")[0] == 404


def test_given_a_broken_budgets_file_then_leave_still_works_and_expense_names_the_file(
        api, tmp_path, monkeypatch) -> None:
    from wecom_oa.settings import reset_settings

    config = tmp_path / "config"
    shutil.copytree(PACKAGE_DIR / "config", config)
    (config / "budgets.yaml").write_text("period: fortnight\ndepartments: {9: lots}\n", encoding="utf-8")
    monkeypatch.setenv("OA_CONFIG_DIR", str(config))
    reset_settings()
    try:
        leave = api.http("POST", "/approvals/evaluate", {"type": "leave", "applicant": "chenjing", "form": {
            "leave_type": "personal", "start": "2026-11-24", "end": "2026-11-24", "days": 1}})
        expense = api.http("POST", "/approvals/evaluate", {"type": "expense", "applicant": "chenjing",
                                                           "form": {"amount": 100, "reason": "打车"}})
    finally:
        monkeypatch.delenv("OA_CONFIG_DIR")
        reset_settings()

    assert leave[0] == 200, leave
    assert expense[0] >= 500 and "budgets.yaml" in expense[1]["error"]["message"], expense
