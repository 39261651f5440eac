from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wecom_oa.approvals.rules import CellSyntaxError, InputSpec, parse_cell, parse_duration

MONEY = InputSpec(type="money")
DATE = InputSpec(type="date")
DURATION = InputSpec(type="duration")
TEXT = InputSpec(type="text")
ENUM = InputSpec(type="enum", values=["annual", "comp_time", "personal"])
BOOL = InputSpec(type="bool")
TAGS = InputSpec(type="user_attribute", source="applicant.role")


@pytest.mark.parametrize(
    ("cell", "inside", "outside"),
    [
        ("-", ["-5", "0", "999999"], []),
        ("<= 1000", ["1000", "-1", "999.99"], ["1000.01"]),
        ("> 1000", ["1000.01", "5000"], ["1000", "0"]),
        ("(1000..5000]", ["1000.01", "5000"], ["1000", "5000.01"]),
        ("[1..3)", ["1", "2.99"], ["0.99", "3"]),
        ("1000", ["1000", "1000.00"], ["1001"]),
        ("!= 0", ["1", "-1"], ["0"]),
        ("< 10, > 100", ["9", "101"], ["10", "50", "100"]),
        ("not [1..3]", ["0.5", "4"], ["1", "3"]),
    ],
)
def test_given_a_money_cell_when_matching_then_only_values_inside_match(cell, inside, outside):
    parsed = parse_cell(cell, MONEY)
    assert all(parsed.matches(Decimal(v)) for v in inside)
    assert not any(parsed.matches(Decimal(v)) for v in outside)


def test_given_date_and_duration_cells_when_matching_then_compare_by_time():
    since = parse_cell(">= 2026-01-01", DATE)
    assert since.matches(date(2026, 1, 1)) and not since.matches(date(2025, 12, 31))
    longer = parse_cell("> 3d", DURATION)
    assert longer.matches(timedelta(days=3, hours=1)) and not longer.matches(timedelta(days=3))
    assert parse_cell("[4h..P1D]", DURATION).matches(timedelta(hours=12))


def test_given_text_enum_bool_and_tag_cells_when_matching_then_equality_and_membership_apply():
    assert parse_cell('"A","B"', TEXT).matches("B") and not parse_cell('"A","B"', TEXT).matches("C")
    assert parse_cell('not "A"', TEXT).matches("B") and not parse_cell('not "A"', TEXT).matches("A")
    assert parse_cell("“华东”", TEXT).matches("华东")
    assert parse_cell("annual, comp_time", ENUM).matches("comp_time")
    assert parse_cell("true", BOOL).matches(True) and not parse_cell("true", BOOL).matches(False)
    role = parse_cell('"财务"', TAGS)
    assert role.matches(frozenset({"财务", "总经理"})) and not role.matches(frozenset())
    assert parse_cell('not "财务"', TAGS).matches(frozenset({"总经理"}))


def test_given_a_missing_value_when_matching_then_only_any_matches():
    assert parse_cell("-", MONEY).matches(None)
    assert not parse_cell("> 0", MONEY).matches(None)
    assert not parse_cell('not "A"', TEXT).matches(None)


@pytest.mark.parametrize(
    ("cell", "spec"),
    [
        ("", MONEY),
        ("<= 1000 or 5", MONEY),
        ("__import__('os').system('id')", MONEY),
        ("amount > 5", MONEY),
        ("> abc", MONEY),
        ("[5..3]", MONEY),
        ("(3..3)", MONEY),
        ("[1..", MONEY),
        (">= 2026-13-45", DATE),
        ("> 3 days", DURATION),
        ('> "A"', TEXT),
        ('"A", != "B"', TEXT),
        ('"holiday"', ENUM),
        ("yes", BOOL),
        ("1,,2", MONEY),
        ("not", TEXT),
        ('"unterminated', TEXT),
        ("{{7*7}}", TEXT),
    ],
)
def test_given_garbage_when_parsing_a_cell_then_it_is_refused(cell, spec):
    with pytest.raises(CellSyntaxError):
        parse_cell(cell, spec)


@pytest.mark.parametrize("text", ["", "3", "3 d", "d3", "P", "-3d", "3x"])
def test_given_a_bad_duration_when_parsing_then_it_is_refused(text):
    with pytest.raises(CellSyntaxError):
        parse_duration(text)


def test_given_duration_forms_when_parsing_then_they_agree():
    assert parse_duration("1d12h") == parse_duration("36h") == parse_duration("P1DT12H") == parse_duration("1.5d")


amounts = st.decimals(min_value=-10**6, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(lo=amounts, hi=amounts, value=amounts, lo_closed=st.booleans(), hi_closed=st.booleans())
def test_given_any_range_when_matching_then_it_agrees_with_plain_comparisons(lo, hi, value, lo_closed, hi_closed):
    lo, hi = min(lo, hi), max(lo, hi)
    text = f"{'[' if lo_closed else '('}{lo}..{hi}{']' if hi_closed else ')'}"
    above = value >= lo if lo_closed else value > lo
    below = value <= hi if hi_closed else value < hi
    try:
        cell = parse_cell(text, MONEY)
    except CellSyntaxError:
        assert lo == hi and not (lo_closed and hi_closed)
        return
    assert cell.matches(value) == (above and below)
