"""Approval forms keep the rule set's declared fields plus a few small extras (`rules.check_form_bounds`):
every other key, and a form too large, too deep or with too long a list, answers 400 `limit_exceeded`
naming the bound and the key, before the rules see it."""

from __future__ import annotations

import pytest

from wecom_oa.approvals import rules
from wecom_oa.errors import InputLimitExceeded

EXPENSE = {"amount": 800, "reason": "打车", "invoice_no": "INV-1"}


def _refused(ruleset, form) -> InputLimitExceeded:
    with pytest.raises(InputLimitExceeded) as caught:
        rules.check_form_bounds(ruleset, form)
    return caught.value


def test_given_the_shipped_types_then_their_declared_fields_are_the_contract_inputs_and_checks(shipped) -> None:
    assert {"amount", "reason", "invoice_no"} <= rules.declared_form_fields(shipped("expense"))
    assert {"leave_type", "start", "end", "days", "handover_to"} <= rules.declared_form_fields(shipped("leave"))


def test_given_a_custom_type_then_its_form_inputs_are_declared(table) -> None:
    assert {"amount", "category", "urgent"} <= rules.declared_form_fields(table("policies"))
    assert "role" not in rules.declared_form_fields(table("policies"))  # an applicant attribute, not a form key


def test_given_declared_fields_and_a_few_small_extras_then_the_form_passes(shipped) -> None:
    rules.check_form_bounds(shipped("expense"), {**EXPENSE, **{f"note_{i}": "x" * 100
                                                               for i in range(rules.FORM_MAX_EXTRA_KEYS)}})


@pytest.mark.parametrize("key", ["k" * 250_000, "k" * (rules.FORM_MAX_EXTRA_KEY_CHARS + 1), "备注", "a-b", ""])
def test_given_an_unknown_key_that_is_not_a_short_name_then_400_naming_the_key_and_the_type(shipped, key) -> None:
    error = _refused(shipped("expense"), {**EXPENSE, key: 1})

    assert f"form key {rules._clip(key)!r} is not a field of expense" in error.message
    assert "fields: amount, invoice_no, reason" in error.message
    assert error.details["limit"] == "form_max_extra_key_chars" and "form_max_extra_key_chars" in error.message
    assert len(error.message) < 400  # a 250 KB key is named by its first characters


def test_given_too_many_unknown_keys_then_400_naming_the_limit(shipped) -> None:
    extras = {f"x{i}": 1 for i in range(rules.FORM_MAX_EXTRA_KEYS + 1)}
    error = _refused(shipped("expense"), {**EXPENSE, **extras})

    assert f"form has {rules.FORM_MAX_EXTRA_KEYS + 1} keys that are not fields of expense" in error.message
    assert f"at most {rules.FORM_MAX_EXTRA_KEYS} extra keys" in error.message
    assert error.details == {"limit": "form_max_extra_keys", "max": rules.FORM_MAX_EXTRA_KEYS, "where": "form"}


def test_given_a_large_unknown_value_then_400_naming_the_key(shipped) -> None:
    error = _refused(shipped("expense"), {**EXPENSE, "note": "x" * rules.FORM_MAX_EXTRA_VALUE_BYTES})

    assert "form key 'note' is not a field of expense and its value is" in error.message
    assert error.details["limit"] == "form_max_extra_value_bytes" and error.details["where"] == "form.note"


def test_given_a_declared_field_too_large_for_the_form_then_400_naming_form_max_bytes(table) -> None:
    error = _refused(table("policies"), {"amount": 1, "category": "x" * (rules.FORM_MAX_BYTES + 1)})

    assert f"the limit is {rules.FORM_MAX_BYTES} (form_max_bytes)" in error.message


def test_given_a_form_nested_200_levels_then_400_naming_the_depth_and_where(shipped) -> None:
    nested: object = 1
    for _ in range(200):
        nested = {"a": nested}
    error = _refused(shipped("expense"), {**EXPENSE, "detail": nested})

    assert f"form nests deeper than {rules.FORM_MAX_DEPTH} levels at form.detail.a.a.a" in error.message
    assert error.details["limit"] == "form_max_depth"


def test_given_a_long_handover_list_then_400_naming_the_field(shipped) -> None:
    form = {"leave_type": "annual", "start": "2026-03-02", "end": "2026-03-02", "days": 1,
            "handover_to": [f"u{i}" for i in range(rules.FORM_MAX_LIST_ITEMS + 1)]}
    error = _refused(shipped("leave"), form)

    assert f"form.handover_to: {rules.FORM_MAX_LIST_ITEMS + 1} items" in error.message
    assert "form_max_list_items" in error.message


def test_given_an_unbounded_form_then_evaluate_refuses_it_before_the_rules(shipped, make_context, request_of) -> None:
    with pytest.raises(InputLimitExceeded, match="is not a field of expense"):
        rules.evaluate(shipped("expense"), request_of("expense", "zhangsan", **EXPENSE, **{"k" * 100: 1}),
                       make_context())
