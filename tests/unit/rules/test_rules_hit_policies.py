from __future__ import annotations

import pytest

from wecom_oa.approvals.rules import AmbiguousMatch, NoRuleMatched, evaluate


@pytest.fixture
def ctx(make_context):
    return make_context()


@pytest.fixture
def purchase(request_of):
    return lambda applicant="zhangsan", **form: request_of("purchase", applicant, **form)


def test_given_first_policy_when_several_rows_match_then_the_earliest_wins(table, purchase, ctx):
    decision = evaluate(table("policies", hit_policy="first"), purchase(amount=6000, category="it"), ctx)
    assert decision.matched_rows == ["it_any"]
    assert [s.name for s in decision.route] == ["部门负责人审批", "财务审批"]
    assert [t.row for t in decision.trace] == ["small_office", "it_any"]


def test_given_priority_policy_when_several_rows_match_then_the_highest_priority_wins(table, purchase, ctx):
    decision = evaluate(table("policies", hit_policy="priority"), purchase(amount=6000, category="it"), ctx)
    assert decision.matched_rows == ["large"]
    assert [s.name for s in decision.route] == ["部门负责人审批", "总经理审批"]


def test_given_collect_policy_when_several_rows_route_then_stages_merge_in_row_order(table, purchase, ctx):
    decision = evaluate(table("policies", hit_policy="collect"), purchase(amount=6000, category="it"), ctx)
    assert decision.matched_rows == ["it_any", "large"]
    assert [s.name for s in decision.route] == ["部门负责人审批", "财务审批", "总经理审批"]


def test_given_collect_policy_when_a_matching_row_rejects_then_reject_wins(table, purchase, ctx):
    decision = evaluate(
        table("policies", hit_policy="collect"), purchase(amount=6000, category="travel", urgent=True), ctx
    )
    assert decision.outcome == "auto_reject" and decision.status == "auto_rejected"
    assert decision.matched_rows == ["large", "urgent_travel"]
    assert decision.route == []
    assert "6000" in decision.suggestion and decision.reason == "加急差旅需提前申请"


def test_given_unique_policy_when_two_rows_match_then_evaluation_refuses(table, purchase, ctx):
    with pytest.raises(AmbiguousMatch, match="it_any, large"):
        evaluate(table("policies", hit_policy="unique"), purchase(amount=6000, category="it"), ctx)


def test_given_unique_policy_when_one_row_matches_then_it_decides(table, purchase, ctx):
    decision = evaluate(table("policies", hit_policy="unique"), purchase(amount=100, category="office"), ctx)
    assert decision.outcome == "auto_approve" and decision.status == "approved"
    assert decision.matched_rows == ["small_office"]


def test_given_no_row_matches_when_a_default_exists_then_the_default_decides(table, purchase, ctx):
    decision = evaluate(table("policies"), purchase(amount=1000, category="travel"), ctx)
    assert decision.matched_rows == ["default"]
    assert [s.approvers for s in decision.route] == [["lina"]]


def test_given_no_row_matches_and_no_default_when_evaluating_then_no_rule_matched(table, purchase, ctx):
    with pytest.raises(NoRuleMatched, match="amount=1000"):
        evaluate(table("policies", default=None), purchase(amount=1000, category="travel"), ctx)


def test_given_a_role_column_when_the_applicant_holds_the_tag_then_the_row_matches(table, purchase, ctx):
    decision = evaluate(table("policies"), purchase("qianjin", amount=1000, category="travel"), ctx)
    assert decision.matched_rows == ["finance_staff"]
    assert decision.inputs["role"] == ["财务"]
