from __future__ import annotations

from wecom_oa.approvals.prechecks import InMemorySeenInvoices, InvoiceUse, StaticBudgets
from wecom_oa.approvals.rules import evaluate


def test_given_a_matched_row_when_explaining_then_every_cell_value_and_condition_is_named(
    table, request_of, make_context
):
    decision = evaluate(table("policies", hit_policy="collect"),
                        request_of("purchase", "zhangsan", amount=6000, category="travel", urgent=True), make_context())
    text = "\n".join(decision.explanation)
    assert "规则集 purchase 第 1 版（命中策略：全部命中合并）" in text
    assert "命中规则「large」：金额 为 6000，满足 > 5000" in text
    assert "命中规则「urgent_travel」（加急差旅需提前申请）：类别 为 travel，满足 \"travel\"；加急 为 是，满足 true" in text
    assert decision.explanation[-1] == "结果：自动驳回"


def test_given_first_policy_when_explaining_then_missed_rows_show_the_failing_cell(table, request_of, make_context):
    decision = evaluate(table("policies"), request_of("purchase", "zhangsan", amount=6000, category="it"),
                        make_context())
    missed = decision.trace[0]
    assert (missed.row, missed.matched) == ("small_office", False)
    assert [(c.input, c.cell, c.matched) for c in missed.cells] == [("amount", "<= 500", False)]


def test_given_a_route_when_explaining_then_stages_list_names_modes_and_flags(shipped, request_of, make_context):
    ctx = make_context(budgets=StaticBudgets({6: 100}),
                       invoices=InMemorySeenInvoices([InvoiceUse(invoice_no="A1", request_id="AP-9", applicant="lisi")]))
    decision = evaluate(shipped("expense"),
                        request_of("expense", "zhangsan", amount=2000, reason="x", invoice_no="a1"), ctx)
    text = "\n".join(decision.explanation)
    assert "第 1 级「财务预审」（或签，一人同意即可）：赵敏（zhaomin）、钱进（qianjin）" in text
    assert "第 2 级「总经理终审」（或签，一人同意即可）：王建国（wangjianguo）" in text
    assert "提醒：超出华东一组剩余预算：本次 2000 元，部门剩余 100 元。" in text
    assert "发票号 a1 已在申请 AP-9" in text


def test_given_a_decision_when_serialised_then_version_rows_and_inputs_are_kept(shipped, request_of, make_context):
    decision = evaluate(shipped("expense"), request_of("expense", "zhangsan", amount="12.5", reason="x"),
                        make_context(budgets=StaticBudgets({}), invoices=InMemorySeenInvoices()))
    body = decision.model_dump(mode="json")
    assert body["ruleset_version"] == 1 and body["matched_rows"] == ["small"]
    assert body["inputs"] == {"amount": "12.5"}
    assert body["route"][0]["timeout"] == {"after": "24h", "after_seconds": 86400, "action": "remind",
                                           "max_reminders": 3}


def test_given_a_decision_when_copied_then_the_copy_keeps_the_trace_of_every_examined_row(
    table, request_of, make_context
):
    decision = evaluate(table("policies"), request_of("purchase", "zhangsan", amount=6000, category="it"),
                        make_context())
    body = decision.model_dump(mode="json")
    assert [t["row"] for t in body["trace"]] == ["small_office", "it_any"]
    for copied in (decision.model_copy(), decision.model_copy(deep=True)):
        assert copied.model_dump(mode="json") == body
        assert [t.row for t in copied.trace] == ["small_office", "it_any"]
