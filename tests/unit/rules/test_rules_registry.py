from __future__ import annotations

import shutil

import pytest

from wecom_oa.approvals.rules_lint import RuleRegistry, load_ruleset
from wecom_oa.errors import ConfigurationError, NotFound


@pytest.fixture
def rules_copy(tmp_path, rules_dir):
    for path in rules_dir.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def bump(path, version, old="<= 1000", new="<= 2000", other="> 1000", other_new="> 2000"):
    text = path.read_text(encoding="utf-8").replace("version: 1", f"version: {version}")
    path.write_text(text.replace(old, new).replace(other, other_new), encoding="utf-8")


def test_given_a_new_active_version_when_an_old_approval_asks_then_it_gets_its_own_version(rules_copy):
    shutil.copy(rules_copy / "expense.yaml", rules_copy / "expense.v1.yaml")
    bump(rules_copy / "expense.yaml", 2)
    registry = RuleRegistry(rules_copy)
    assert registry.active("expense").version == 2
    assert registry.get("expense", 1).rows[0].when == {"amount": "<= 1000"}
    assert registry.get("expense", 2).rows[0].when == {"amount": "<= 2000"}
    assert registry.versions("expense") == [1, 2]
    assert registry.types() == ["expense", "leave", "onboarding"]


def test_given_a_version_no_longer_kept_when_asked_then_configuration_error_says_which_file(rules_copy):
    bump(rules_copy / "expense.yaml", 2)
    with pytest.raises(ConfigurationError, match=r"expense\.v1\.yaml"):
        RuleRegistry(rules_copy).get("expense", 1)
    with pytest.raises(NotFound):
        RuleRegistry(rules_copy).active("travel")


def test_given_a_file_failing_the_linter_when_loading_then_it_is_refused_naming_file_and_row(rules_copy):
    bump(rules_copy / "expense.yaml", 2, other="> 1000", other_new="> 500")
    with pytest.raises(ConfigurationError) as err:
        load_ruleset(rules_copy / "expense.yaml")
    assert "expense.yaml row large" in err.value.message and "overlap" in err.value.message
    assert err.value.details[0]["row"] == "large"
    with pytest.raises(ConfigurationError):
        RuleRegistry(rules_copy).active("expense")


def test_given_a_file_named_for_another_version_when_linting_all_then_it_is_reported(rules_copy):
    shutil.copy(rules_copy / "expense.yaml", rules_copy / "expense.v3.yaml")
    results = RuleRegistry(rules_copy).lint_all()
    assert [f.code for f in results["expense.v3.yaml"][1]] == ["filename"]
    with pytest.raises(ConfigurationError, match="named v3"):
        RuleRegistry(rules_copy).get("expense", 3)


def test_given_two_files_defining_one_version_differently_when_linting_all_then_a_clash_is_reported(rules_copy):
    shutil.copy(rules_copy / "expense.yaml", rules_copy / "expense.v1.yaml")
    bump(rules_copy / "expense.v1.yaml", 1, new="<= 900", other_new="> 900")
    results = RuleRegistry(rules_copy).lint_all()
    clashes = [f for f in results["expense.yaml"][1] + results["expense.v1.yaml"][1] if f.code == "version_clash"]
    assert len(clashes) == 1
