"""How values read in texts (是/否, 无, （空）, 、) comes from the templates' `values` section."""

from __future__ import annotations

import pytest

from wecom_oa.approvals.prechecks import VALUE_WORDS, ApprovalTemplates, display
from wecom_oa.errors import ConfigurationError

WORDS = {"bool_true": "Y", "bool_false": "N", "empty_list": "-", "missing": "?", "list_separator": "+"}


def test_given_shipped_templates_then_values_read_in_chinese(templates) -> None:
    assert [display(v, templates.value_words()) for v in (True, False, [], None, ["a", "b"])] == [
        "是", "否", "无", "（空）", "a、b"]


def test_given_company_words_then_texts_render_values_with_them() -> None:
    texts = ApprovalTemplates({"values": WORDS, "flags": {"x": "{a}|{b}|{c}|{d}"}})

    assert texts.text("flags", "x", a=True, b=[], c=None, d=["u", "v"]) == "Y|-|?|u+v"


def test_given_templates_without_values_then_the_shipped_words_apply() -> None:
    texts = ApprovalTemplates({"flags": {"x": "{a}"}})

    assert texts.text("flags", "x", a=False) == "否"


def test_given_incomplete_values_section_then_configuration_error_names_the_missing_word() -> None:
    partial = {k: v for k, v in WORDS.items() if k != "missing"}

    with pytest.raises(ConfigurationError, match="values.missing"):
        ApprovalTemplates({"values": partial}, source="approvals.yaml")
    assert "missing" in VALUE_WORDS
