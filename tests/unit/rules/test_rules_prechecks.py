from __future__ import annotations

from decimal import Decimal

import pytest

from wecom_oa.approvals.prechecks import (
    ApprovalTemplates,
    CheckSubject,
    InMemorySeenInvoices,
    InvoiceUse,
    LeaveBalanceCheck,
    PreCheckConfig,
    StaticLeaveBalances,
)
from wecom_oa.approvals.rules import evaluate
from wecom_oa.errors import ConfigurationError

SEEN = [InvoiceUse(invoice_no="FP-88", request_id="AP-0001", applicant="lisi")]


@pytest.mark.parametrize(("on_fail", "outcome"), [("flag", "route"), ("reject", "auto_reject")])
def test_given_a_duplicate_invoice_when_configured_flag_or_reject_then_the_outcome_follows(
    shipped, request_of, make_context, on_fail, outcome
):
    ruleset = shipped("expense", prechecks=[{"check": "duplicate_invoice", "on_fail": on_fail}])
    decision = evaluate(ruleset, request_of("expense", "wangwu", amount=100, reason="x", invoice_no=" fp-88 "),
                        make_context(invoices=InMemorySeenInvoices(SEEN)))
    assert decision.outcome == outcome
    assert [(f.code, f.severity) for f in decision.findings] == [("duplicate_invoice", on_fail)]
    assert decision.findings[0].data["first_request_id"] == "AP-0001"


def test_given_the_same_request_resubmitted_when_checking_invoices_then_it_is_not_a_duplicate(
    shipped, make_context
):
    from wecom_oa.approvals.rules import ApprovalRequest

    request = ApprovalRequest(type="expense", applicant="lisi", request_id="AP-0001",
                              form={"amount": 100, "reason": "x", "invoice_no": "FP-88"})
    decision = evaluate(shipped("expense", prechecks=[{"check": "duplicate_invoice"}]), request,
                        make_context(invoices=InMemorySeenInvoices(SEEN)))
    assert decision.findings == []


def test_given_a_check_without_its_port_when_evaluating_then_a_visible_flag_says_it_was_skipped(
    shipped, request_of, make_context
):
    decision = evaluate(shipped("leave"), request_of("leave", "lisi", leave_type="annual", start="2026-03-02",
                                                     end="2026-03-02", days=1), make_context())
    assert decision.outcome == "route"
    assert [(f.code, f.severity) for f in decision.findings] == [("precheck_unavailable", "flag")]


def run_balance(templates, balances, leave_type, days, **params):
    subject = CheckSubject(type="leave", applicant="u", form={"leave_type": leave_type, "days": Decimal(days)})
    config = PreCheckConfig(check="leave_balance", on_fail="reject", params=params)
    return LeaveBalanceCheck(StaticLeaveBalances({"u": balances})).run(subject, config, templates)


def test_given_balance_short_when_checking_then_alternatives_list_their_balances(templates):
    [finding] = run_balance(templates, {"annual": 1, "comp_time": 2.5, "sick": 0}, "annual", "2")
    assert finding.message == "年假余额不足：剩余 1 天，本次申请 2 天。"
    assert finding.suggestion == "建议改用：调休（剩余 2.5 天） / 事假。"


def test_given_other_balances_too_small_or_sick_when_checking_then_only_types_that_cover_it_are_offered(templates):
    # 2.5 days of 调休 cannot cover 3 days; 病假 is no substitute for annual leave whatever its balance
    [finding] = run_balance(templates, {"annual": 1, "comp_time": 2.5, "sick": 10}, "annual", "3")
    assert finding.suggestion == "建议改用：事假。"
    assert [a["leave_type"] for a in finding.data["alternatives"]] == ["personal"]


def test_given_no_other_balance_when_checking_then_the_no_alternative_text_is_used(templates):
    [finding] = run_balance(templates, {"annual": 0}, "annual", "1", unlimited_types=[])
    assert finding.suggestion == templates.text("suggestions", "leave_no_alternative")


@pytest.mark.parametrize(("balance", "days"), [("3", "3"), ("5", "0.5")])
def test_given_enough_balance_when_checking_then_no_finding(templates, balance, days):
    assert run_balance(templates, {"annual": balance}, "annual", days) == []


def test_given_an_edited_template_when_rendering_then_the_company_text_is_used():
    texts = ApprovalTemplates({"flags": {"leave_balance_insufficient": "{leave_type_name}不够了（{balance}/{days}）"},
                               "suggestions": {"leave_alternatives": "换成 {alternatives}",
                                               "leave_alternative_item": "{name}:{balance}",
                                               "leave_alternative_unlimited": "{name}"},
                               "leave_types": {"annual": "年休", "comp_time": "调休"}})
    [finding] = run_balance(texts, {"annual": 0, "comp_time": 1}, "annual", "1", unlimited_types=[])
    assert (finding.message, finding.suggestion) == ("年休不够了（0/1）", "换成 调休:1")


@pytest.mark.parametrize("text", ["{x.__class__}", "{x[0]}", "{x!r}", "{x:>10}", "{", "{0}"])
def test_given_a_template_reaching_into_objects_when_loading_then_it_is_refused(text):
    with pytest.raises(ConfigurationError, match="flags.bad"):
        ApprovalTemplates({"flags": {"bad": text}})


def test_given_a_missing_template_when_rendering_then_configuration_error_names_it(templates):
    with pytest.raises(ConfigurationError, match="suggestions.nope"):
        templates.text("suggestions", "nope")
