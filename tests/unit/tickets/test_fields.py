"""Custom field validation: types, normalisation and stage-dependent requirements."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wecom_oa.errors import InvalidInput
from wecom_oa.tickets.domain import Status, field_problems, validate_fields

BASE = {"device_name": "包装机", "location": "一号厂房"}


@pytest.fixture
def repair(catalog):
    return catalog.template_for("repair")


def _problem_fields(template, fields, stage, status=None) -> list[str]:
    return [p["field"] for p in field_problems(template, fields, stage, status)[1]]


def test_given_fault_description_missing_when_at_intake_then_valid(repair):
    assert validate_fields(repair, BASE, "intake", Status.NEW) == BASE


def test_given_fault_description_missing_when_at_after_sales_then_error_names_field(repair):
    fields = {**BASE, "fault_category": "electrical", "technician": "li4"}
    with pytest.raises(InvalidInput) as err:
        validate_fields(repair, fields, "after_sales", Status.IN_PROGRESS)
    assert err.value.details == [{"field": "fields.fault_description", "problem": "故障描述 is required at after_sales"}]


def test_given_field_required_at_status_when_status_reached_then_required(repair):
    assert "fields.repair_cost" not in _problem_fields(repair, BASE, "intake", Status.IN_PROGRESS)
    assert "fields.repair_cost" in _problem_fields(repair, BASE, "intake", Status.RESOLVED)


def test_given_unknown_field_when_validated_then_named(repair):
    assert _problem_fields(repair, {**BASE, "colour": "red"}, "intake") == ["fields.colour"]


def test_given_empty_values_when_required_then_treated_as_missing(repair):
    assert _problem_fields(repair, {"device_name": "", "location": None}, "intake", Status.NEW) == [
        "fields.device_name", "fields.location"]


@pytest.mark.parametrize(
    ("field", "value", "normalised"),
    [
        ("device_serial", "PKG-1", "PKG-1"),
        ("downtime_hours", "2.5", 2.5),
        ("downtime_hours", 3, 3),
        ("repair_cost", 1234.5, "1234.50"),
        ("repair_cost", "88", "88.00"),
        ("fault_date", "2025-03-02", "2025-03-02"),
        ("fault_category", "electrical", "electrical"),
        ("parts", ["motor", "belt"], ["motor", "belt"]),
        ("technician", "li4", "li4"),
        ("reporting_department", "12", 12),
        ("related_order", {"kind": "order", "id": "SO-1", "snapshot": {"customer": "华东食品"}},
         {"kind": "order", "id": "SO-1", "snapshot": {"customer": "华东食品"}}),
    ],
)
def test_given_valid_value_when_validated_then_normalised(repair, field, value, normalised):
    assert validate_fields(repair, {**BASE, field: value}, "intake")[field] == normalised


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("device_serial", 42, "must be text"),
        ("device_serial", "x" * 65, "longer than 64"),
        ("downtime_hours", "many", "must be a number"),
        ("downtime_hours", True, "must be a number"),
        ("downtime_hours", -1, "at least 0"),
        ("downtime_hours", "NaN", "finite"),
        ("repair_cost", "12.345", "2 decimal places"),
        ("repair_cost", 2_000_000, "at most 1000000"),
        ("fault_date", "02/03/2025", "YYYY-MM-DD"),
        ("fault_category", "magic", "must be one of"),
        ("parts", "motor", "list of options"),
        ("parts", ["motor", "motor"], "must not repeat"),
        ("parts", ["wing"], "unknown options"),
        ("technician", "has space", "WeCom userid"),
        ("reporting_department", 0, "department id"),
        ("related_order", {"kind": "opportunity", "id": "O-1"}, "kind must be one of ['order']"),
        ("related_order", {"id": "SO-1"}, "{kind, id, snapshot?}"),
    ],
)
def test_given_bad_value_when_validated_then_problem_names_field(repair, field, value, problem):
    _, problems = field_problems(repair, {**BASE, field: value}, "intake")
    assert [p["field"] for p in problems] == [f"fields.{field}"]
    assert problem in problems[0]["problem"]


def test_given_several_problems_when_validated_then_all_reported_in_one_error(repair):
    with pytest.raises(InvalidInput) as err:
        validate_fields(repair, {"device_name": 1, "parts": ["wing"]}, "intake", Status.NEW)
    fields = {d["field"] for d in err.value.details}
    assert fields == {"fields.device_name", "fields.parts", "fields.location"}
    assert "fields.device_name" in err.value.message


@settings(max_examples=60, deadline=None)
@given(st.decimals(min_value=0, max_value=1_000_000, places=2, allow_nan=False, allow_infinity=False))
def test_given_any_amount_with_cents_when_validated_then_money_keeps_exact_value(catalog, amount):
    template = catalog.template_for("repair")
    stored = validate_fields(template, {**BASE, "repair_cost": str(amount)}, "intake")["repair_cost"]
    assert Decimal(stored) == amount
    assert stored.split(".")[1].__len__() == 2
