from __future__ import annotations

from decimal import Decimal

import pytest

from wecom_oa.approvals.prechecks import InMemorySeenInvoices, InvoiceUse, StaticBudgets, StaticLeaveBalances
from wecom_oa.approvals.rules import evaluate
from wecom_oa.errors import InvalidInput


def approvers(decision):
    return [(s.name, s.approvers) for s in decision.route]


@pytest.mark.parametrize("amount", ["0.01", "800", "1000", "1000.00"])
def test_given_expense_up_to_1000_when_evaluated_then_one_stage_with_the_department_head(
    shipped, request_of, make_context, amount
):
    decision = evaluate(
        shipped("expense"), request_of("expense", "zhangsan", amount=amount, reason="打车"), make_context()
    )
    assert decision.outcome == "route" and decision.matched_rows == ["small"]
    assert approvers(decision) == [("部门负责人审批", ["lina"])]
    assert decision.route[0].timeout.after_seconds == 24 * 3600


@pytest.mark.parametrize("amount", ["1000.01", "5000", "99999"])
def test_given_expense_over_1000_when_evaluated_then_finance_pre_review_then_general_manager(
    shipped, request_of, make_context, amount
):
    decision = evaluate(
        shipped("expense"), request_of("expense", "wangwu", amount=amount, reason="设备"), make_context()
    )
    assert decision.matched_rows == ["large"]
    # chenshi is in the 财务 tag but has left the company (status 5): never an approver
    assert approvers(decision) == [("财务预审", ["zhaomin", "qianjin"]), ("总经理终审", ["wangjianguo"])]
    assert decision.ruleset_version == 1 and decision.inputs == {"amount": Decimal(amount)}


def test_given_expense_over_budget_when_evaluated_then_flagged_and_still_routed(
    shipped, request_of, make_context
):
    ctx = make_context(budgets=StaticBudgets({6: 500}), invoices=InMemorySeenInvoices())
    decision = evaluate(shipped("expense"), request_of("expense", "zhangsan", amount=800, reason="x"), ctx)
    assert decision.outcome == "route"
    assert [(f.code, f.severity) for f in decision.flags] == [("budget_exceeded", "flag")]
    assert decision.flags[0].message == "超出华东一组剩余预算：本次 800 元，部门剩余 500 元。"


def test_given_budget_check_set_to_reject_when_over_budget_then_auto_rejected(
    shipped, request_of, make_context, templates
):
    ruleset = shipped("expense", prechecks=[{"check": "budget", "on_fail": "reject"}])
    ctx = make_context(budgets=StaticBudgets({6: 500}))
    decision = evaluate(ruleset, request_of("expense", "zhangsan", amount=800, reason="x"), ctx)
    assert decision.outcome == "auto_reject" and decision.route == []
    assert decision.suggestion == templates.text("suggestions", "budget_exceeded")


def test_given_expense_within_budget_when_evaluated_then_no_finding(shipped, request_of, make_context):
    ctx = make_context(
        budgets=StaticBudgets({6: 800}),
        invoices=InMemorySeenInvoices([InvoiceUse(invoice_no="X-1", request_id="AP-1", applicant="lisi")]),
    )
    decision = evaluate(
        shipped("expense"), request_of("expense", "zhangsan", amount=800, reason="x", invoice_no="X-2"), ctx
    )
    assert decision.findings == []


@pytest.mark.parametrize(
    "form",
    [
        {"amount": 0, "reason": "x"},
        {"amount": "abc", "reason": "x"},
        {"amount": 5, "reason": ""},
        {"reason": "x"},
    ],
)
def test_given_an_invalid_expense_form_when_evaluated_then_invalid_input_names_the_field(
    shipped, request_of, make_context, form
):
    with pytest.raises(InvalidInput) as err:
        evaluate(shipped("expense"), request_of("expense", "zhangsan", **form), make_context())
    assert err.value.details[0]["field"].startswith("form.")


def test_given_an_unknown_applicant_when_evaluated_then_invalid_input(shipped, request_of, make_context):
    with pytest.raises(InvalidInput, match="ghost"):
        evaluate(shipped("expense"), request_of("expense", "ghost", amount=1, reason="x"), make_context())


def leave_request(request_of, applicant, leave_type, days):
    return request_of(
        "leave", applicant, leave_type=leave_type, start="2026-03-02", end="2026-03-06", days=days
    )


def test_given_zero_annual_balance_when_asking_annual_leave_then_auto_rejected_with_alternatives(
    shipped, request_of, make_context
):
    ctx = make_context(balances=StaticLeaveBalances({"lisi": {"annual": 0, "comp_time": 2.5}}))
    decision = evaluate(shipped("leave"), leave_request(request_of, "lisi", "annual", 1), ctx)
    assert decision.outcome == "auto_reject" and decision.status == "auto_rejected"
    assert decision.route == [] and decision.matched_rows == []
    assert decision.suggestion == "建议改用：调休（剩余 2.5 天） / 事假。"
    assert decision.findings[0].data["alternatives"] == [
        {"leave_type": "comp_time", "balance": "2.5"},
        {"leave_type": "personal", "balance": None},
    ]


def test_given_enough_balance_when_asking_leave_then_routed_by_days(shipped, request_of, make_context):
    ctx = make_context(balances=StaticLeaveBalances({"wangwu": {"annual": 10}}))
    short = evaluate(shipped("leave"), leave_request(request_of, "wangwu", "annual", 3), ctx)
    long = evaluate(shipped("leave"), leave_request(request_of, "wangwu", "annual", "3.5"), ctx)
    assert approvers(short) == [("部门负责人审批", ["wufang"])]
    assert approvers(long) == [("部门负责人审批", ["wufang"]), ("总经理审批", ["wangjianguo"])]


def test_given_a_leave_type_without_balance_when_asking_then_not_checked(shipped, request_of, make_context):
    ctx = make_context(balances=StaticLeaveBalances({"wangwu": {"annual": 0}}))
    decision = evaluate(shipped("leave"), leave_request(request_of, "wangwu", "sick", 2), ctx)
    assert decision.outcome == "route" and decision.findings == []


def test_given_leave_ending_before_it_starts_when_evaluated_then_invalid_input(
    shipped, request_of, make_context
):
    bad = request_of("leave", "wangwu", leave_type="sick", start="2026-03-06", end="2026-03-02", days=1)
    with pytest.raises(InvalidInput):
        evaluate(shipped("leave"), bad, make_context())


def test_given_the_general_managers_own_small_expense_when_evaluated_then_finance_decides_not_the_system(
    shipped, request_of, make_context
):
    # Nobody above the general manager: his department-head stage is skipped; a person still decides.
    decision = evaluate(
        shipped("expense"), request_of("expense", "wangjianguo", amount="990", reason="招待"), make_context()
    )
    assert decision.outcome == "route"
    live = [(s.name, s.approvers) for s in decision.route if not s.skipped]
    assert live == [("兜底审批", ["zhaomin", "qianjin"])]


def test_given_no_fallback_resolves_when_the_route_is_empty_then_rejected_with_the_reason(
    shipped, request_of, make_context, templates
):
    ruleset = shipped("expense", fallback_approvers=["user:nobody-here"])
    decision = evaluate(ruleset, request_of("expense", "wangjianguo", amount="990", reason="招待"), make_context())
    assert decision.outcome == "auto_reject" and decision.route == []
    assert decision.reason == templates.text("explanations", "no_approver")
