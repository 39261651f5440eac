"""Equivalence: the engine (`wecom_oa.approvals.rules.evaluate`: an index per input, only the matched
rows traced at evaluation, the Decision built without re-validation) decides every request exactly as
the engine did before (`rules_reference`, a frozen copy of the full-scan evaluation path).

Given random rule tables (every input type, every cell form, hit policies first / collect / unique /
priority, default row or none, stages with self-approval and unresolved rules, fallbacks) and random
forms (values on and next to every boundary, missing, malformed, outside the domain) from random
applicants of the fixture company, when both engines evaluate, then both raise the same error (type,
message, details) or return decisions whose every field is equal, in Python and in JSON, including the
trace of the examined rows (the engine builds it when it is read or serialised) and the key order
of the serialised body. Also over the shipped rule sets with their pre-checks.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import rules_reference as reference
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from wecom_oa.approvals.prechecks import (
    ApprovalTemplates,
    InMemorySeenInvoices,
    InvoiceUse,
    StaticBudgets,
    StaticLeaveBalances,
)
from wecom_oa.approvals.rules import ApprovalRequest, EvaluationContext, RuleSet, evaluate
from wecom_oa.errors import OAError
from wecom_oa.settings import PACKAGE_DIR

PROPERTY = settings(deadline=None, database=None, max_examples=400,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

USERS = ["zhangsan", "lisi", "lina", "zhoujie", "wangjianguo", "liuyang", "zhaomin", "qianjin", "sunli",
         "wangwu", "wufang", "huangwei", "fengtao", "chenjing", "xiaoli", "chenshi"]
NUMBERS = ["0", "1.5", "100", "500", "1000", "5000"]
DATES = ["2026-01-01", "2026-03-01", "2026-06-30"]
DURATIONS = ["90s", "4h", "1d", "3d"]
CATEGORIES = ["office", "it", "travel"]
TEXTS = ["a", "b", "c"]
DEPARTMENTS = ["华东一组", "财务部", "总经办", "技术支持部"]
REGIONS = ["华东", "华南"]
TAGS = ["财务", "总经理", "技术支持", "空角色"]

# name → (spec, literal pool for cells)
INPUTS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "amount": ({"type": "money", "label": "金额"}, NUMBERS),
    "days": ({"type": "number"}, NUMBERS),
    "start": ({"type": "date", "label": "开始"}, DATES),
    "wait": ({"type": "duration"}, DURATIONS),
    "category": ({"type": "enum", "values": CATEGORIES, "label": "类别"}, CATEGORIES),
    "note": ({"type": "text"}, TEXTS),
    "urgent": ({"type": "bool", "label": "加急"}, ["true", "false"]),
    "dept": ({"type": "user_attribute", "source": "applicant.department"}, DEPARTMENTS),
    "region": ({"type": "user_attribute", "source": "applicant.region"}, REGIONS),
    "uid": ({"type": "user_attribute", "source": "applicant.userid"}, USERS[:6]),
    "role": ({"type": "user_attribute", "source": "applicant.role", "label": "角色"}, TAGS),
}
ORDERED = {"amount", "days", "start", "wait"}
FORM_INPUTS = ["amount", "days", "start", "wait", "category", "note", "urgent"]

STAGES = {
    "head": {"name": "部门负责人审批", "approvers": ["department_head"], "on_self_approval": "next_leader"},
    "finance": {"name": "财务审批", "approvers": ["role:财务"], "on_unresolved": "fail",
                "timeout": {"after": "24h", "action": "remind", "max_reminders": 3}},
    "gm": {"name": "总经理审批", "approvers": ["role:总经理"], "mode": "all"},
    "boss2": {"name": "二级上级", "approvers": ["leader:2"], "mode": "sequential", "on_unresolved": "admin:zhaomin"},
    "nobody": {"name": "空角色审批", "approvers": ["role:空角色"]},
    "handover": {"name": "交接人确认", "approvers": ["form_field:handover_to", "user:lina"]},
}


def ordered_cell(pool: list[str]) -> st.SearchStrategy[str]:
    one = st.sampled_from(pool)
    pair = st.lists(st.sampled_from(pool), min_size=2, max_size=2, unique=True).map(
        lambda p: sorted(p, key=lambda x: pool.index(x)))
    comparison = st.tuples(st.sampled_from(["<", "<=", ">", ">=", "=", "!="]), one).map(lambda t: f"{t[0]} {t[1]}")
    rng = st.tuples(st.sampled_from("[("), pair, st.sampled_from("])")).map(
        lambda t: f"{t[0]}{t[1][0]}..{t[1][1]}{t[2]}")
    test = st.one_of(one, comparison, rng)
    tests = st.lists(test, min_size=1, max_size=3).map(", ".join)
    return st.one_of(st.just("-"), tests, tests.map(lambda t: f"not {t}"), tests.map(lambda t: f"not ({t})"))


def discrete_cell(pool: list[str], quoted: bool) -> st.SearchStrategy[str]:
    lit = st.sampled_from(pool).map(lambda v: f'"{v}"' if quoted else v)
    values = st.lists(lit, min_size=1, max_size=3, unique=True).map(", ".join)
    return st.one_of(st.just("-"), values, values.map(lambda t: f"not {t}"), values.map(lambda t: f"not ({t})"),
                     lit.map(lambda v: f"= {v}"), lit.map(lambda v: f"!= {v}"))


def cell_for(name: str) -> st.SearchStrategy[str]:
    spec, pool = INPUTS[name]
    if name in ORDERED:
        return ordered_cell(pool)
    if spec["type"] == "bool":
        return st.sampled_from(["-", "true", "false"])
    return st.booleans().flatmap(lambda q: discrete_cell(pool, q or name in ("dept", "role")))


@st.composite
def rulesets(draw: st.DrawFn) -> RuleSet:
    names = draw(st.lists(st.sampled_from(sorted(INPUTS)), min_size=1, max_size=5, unique=True))
    inputs = {}
    for name in names:
        spec = dict(INPUTS[name][0])
        if spec["type"] != "user_attribute":
            spec["required"] = draw(st.booleans())
        if name in ("amount", "days") and draw(st.booleans()):
            spec["domain"] = draw(st.sampled_from([">= 0", "> 0", "[0..5000]"]))
        inputs[name] = spec
    duplicate_ids = draw(st.integers(0, 9)) == 0  # linted away in files, yet evaluated the same way
    rows = []
    for i in range(draw(st.integers(1, 12))):
        when = {n: draw(cell_for(n)) for n in names if draw(st.integers(0, 2))}
        outcome = draw(st.sampled_from(["route", "route", "auto_approve", "auto_reject"]))
        row: dict[str, Any] = {
            "id": draw(st.sampled_from(["r0", "r1", "default"])) if duplicate_ids else f"r{i}",
            "when": when, "outcome": outcome,
            "priority": draw(st.one_of(st.none(), st.integers(0, 3))),
            "reason": draw(st.sampled_from([None, "小额", "需审批"])),
        }
        if outcome == "route":
            row["route"] = draw(st.lists(st.sampled_from(sorted(STAGES)), min_size=1, max_size=3))
        if outcome == "auto_reject" and draw(st.booleans()):
            row["suggestion_template"] = "budget_exceeded"
        rows.append(row)
    body: dict[str, Any] = {
        "type": "purchase", "version": draw(st.integers(1, 3)),
        "hit_policy": draw(st.sampled_from(["first", "first", "collect", "collect", "unique", "priority"])),
        "inputs": inputs, "stages": STAGES, "rows": rows,
        "fallback_approvers": draw(st.sampled_from([[], ["role:总经理"], ["role:空角色", "user:zhaomin"]])),
    }
    if draw(st.booleans()):
        body["default"] = {"outcome": draw(st.sampled_from(["route", "auto_approve"])), "route": ["head"]}
    return RuleSet.model_validate(body)


def raw_value(name: str) -> st.SearchStrategy[Any]:
    spec, pool = INPUTS[name]
    if spec["type"] in ("money", "number"):
        near = st.sampled_from(pool).flatmap(lambda v: st.sampled_from(
            [v, str(Decimal(v) + Decimal("0.01")), str(Decimal(v) - Decimal("0.01")), f"{v}.00", float(v)]))
        return st.one_of(near, near, st.integers(-10, 6000), st.sampled_from(["abc", True]))
    if spec["type"] == "date":
        return st.sampled_from([*DATES, "2026-01-02", "2025-12-31", "2026-06-29", "x"])
    if spec["type"] == "duration":
        return st.sampled_from([*DURATIONS, "1d1s", "89s", "4h1m", "2d", "P3D", "soon"])
    if spec["type"] == "bool":
        return st.sampled_from([True, False, True, False, "yes"])
    if spec["type"] == "enum":
        return st.sampled_from([*CATEGORIES, "food"])
    return st.sampled_from([*TEXTS, "d", 7])


@st.composite
def requests(draw: st.DrawFn) -> ApprovalRequest:
    form = {}
    for name in FORM_INPUTS:
        if draw(st.integers(0, 4)):
            form[name] = draw(raw_value(name))
    if draw(st.booleans()):
        form["handover_to"] = draw(st.lists(st.sampled_from([*USERS[:4], "ghost"]), max_size=2))
    applicant = draw(st.sampled_from([*USERS, *USERS, "nobody_here"]))
    return ApprovalRequest(type="purchase", applicant=applicant, form=form)


def outcome_of(engine: Any, ruleset: Any, request: ApprovalRequest, context: Any) -> tuple[str, Any]:
    """("ok", python dump, json text) or ("error", type name, message, details)."""
    try:
        decision = engine(ruleset, request, context)
    except OAError as exc:
        return ("error", (type(exc).__name__, str(exc), getattr(exc, "details", None)))
    as_json = json.dumps(decision.model_dump(mode="json"), ensure_ascii=False, sort_keys=False)
    return ("ok", (decision.model_dump(), as_json, [t.model_dump() for t in decision.trace],
                   decision.model_dump(mode="json", exclude_none=True), decision.model_dump(exclude={"trace"}),
                   decision.explanation, decision.matched_rows))


def assert_same(ruleset: RuleSet, request: ApprovalRequest, context: Any) -> None:
    expected = outcome_of(reference.evaluate, ruleset, request, context)
    actual = outcome_of(evaluate, ruleset, request, context)
    event(f"{ruleset.hit_policy}: {expected[1][0] if expected[0] == 'error' else expected[1][0]['outcome']}")
    assert actual == expected


@PROPERTY
@given(ruleset=rulesets(), forms=st.lists(requests(), min_size=1, max_size=6))
def test_given_random_tables_and_forms_when_evaluated_then_decisions_equal_the_reference(
    ruleset, forms, make_context
):
    context = make_context()
    for request in forms:
        assert_same(ruleset, request, context)


@pytest.mark.parametrize("policy", ["first", "collect", "unique", "priority"])
@settings(PROPERTY, max_examples=150)
@given(form=requests())
def test_given_the_policies_table_when_evaluated_then_decisions_equal_the_reference(
    policy, form, table, make_context
):
    assert_same(table("policies", hit_policy=policy), form, make_context())


def expense_forms() -> st.SearchStrategy[dict[str, Any]]:
    amount = st.one_of(st.sampled_from(["1000", "1000.00", "1000.01", "999.99", "0.01", "5000", "0"]),
                       st.integers(-5, 20_000), st.just("abc"))
    return st.fixed_dictionaries({"amount": amount, "reason": st.sampled_from(["差旅", ""])},
                                 optional={"invoice_no": st.sampled_from(["A1", "a1", "B2"])})


def leave_forms() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "leave_type": st.sampled_from(["annual", "comp_time", "personal", "sick", "holiday"]),
        "start": st.sampled_from(["2026-03-02", "2026-03-05"]),
        "end": st.sampled_from(["2026-03-03", "2026-03-06"]),
        "days": st.sampled_from(["0.5", "1", "3", "5", "10", "0"]),
    }, optional={"handover_to": st.lists(st.sampled_from(["lisi", "lina", "ghost"]), max_size=2)})


@pytest.mark.parametrize("kind", ["expense", "leave"])
@settings(PROPERTY, max_examples=150)
@given(data=st.data(), applicant=st.sampled_from(USERS))
def test_given_shipped_rule_sets_when_evaluated_then_decisions_equal_the_reference(
    kind, data, applicant, shipped, make_context
):
    form = data.draw(expense_forms() if kind == "expense" else leave_forms())
    context = make_context(
        budgets=StaticBudgets({6: 100, 3: 50_000}),
        invoices=InMemorySeenInvoices([InvoiceUse(invoice_no="A1", request_id="AP-9", applicant="lisi")]),
        balances=StaticLeaveBalances({"zhangsan": {"annual": 2, "comp_time": 1}, "lisi": {"annual": 0}}),
    )
    assert_same(shipped(kind), ApprovalRequest(type=kind, applicant=applicant, form=form), context)


@pytest.mark.parametrize(("entry", "text"), [
    ("cell_matched", "{label}：{value}（{value}）满足 {cell}"), ("cell_matched", "{label} 满足 {cell}"),
    ("cell_matched", "{value}{value}"), ("stage", "{approvers}：第 {index} 级，{approvers}"), ("stage", "「{name}」"),
    ("row_matched", "{cells}{row}{cells}"),
])
@settings(PROPERTY, max_examples=60)
@given(form=requests())
def test_given_templates_that_show_a_value_twice_or_never_when_explaining_then_lines_equal_the_reference(
    entry, text, form, table, directory
):
    sections = yaml.safe_load((PACKAGE_DIR / "templates" / "approvals.yaml").read_text(encoding="utf-8"))
    sections["explanations"] = {**sections["explanations"], entry: text}
    context = EvaluationContext(directory=directory, templates=ApprovalTemplates(sections, source="edited.yaml"))
    assert_same(table("policies", hit_policy="collect"), form, context)
