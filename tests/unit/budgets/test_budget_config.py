"""config/budgets.yaml: validation names the file and the field; the shipped file fits the demo company."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from wecom_oa.budgets.domain import BudgetConfig, load_budget_config
from wecom_oa.directory import StaticDirectory
from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.settings import PACKAGE_DIR

SHIPPED = PACKAGE_DIR / "config" / "budgets.yaml"
DEMO_DIRECTORY = Path(__file__).resolve().parents[3] / "local" / "sandbox" / "demo_directory.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "budgets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(("text", "field"), [
    ("period: week\n", "period"),
    ("timezone: Mars/Olympus\n", "timezone"),
    ("default: -1\n", "default"),
    ("departments: {9: -500}\n", "departments.9"),
    ("departments: {9: 10.005}\n", "departments.9"),
    ("departments: {sales: 500}\n", "departments.sales"),
    ("departments: {9: lots}\n", "departments.9"),
    ("budget: 5\n", "budget"),
])
def test_given_bad_field_when_loaded_then_configuration_error_names_file_and_field(tmp_path, text, field) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_budget_config(_write(tmp_path, text))

    assert caught.value.message.startswith(f"budgets.yaml: {field}")


def test_given_a_list_instead_of_a_mapping_when_loaded_then_configuration_error(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="budgets.yaml: expected a mapping"):
        load_budget_config(_write(tmp_path, "- 9: 500\n"))


def test_given_broken_yaml_when_loaded_then_configuration_error_names_the_file(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="budgets.yaml: cannot read"):
        load_budget_config(_write(tmp_path, "departments: {9: [\n"))


def test_given_no_file_when_loaded_then_monthly_and_no_department_is_checked(tmp_path) -> None:
    config = load_budget_config(tmp_path / "budgets.yaml")

    assert config.period == "month" and config.configured(9) is None


def test_given_amounts_and_default_then_listed_departments_use_theirs_and_others_the_default(tmp_path) -> None:
    config = load_budget_config(_write(tmp_path, "period: quarter\ndefault: 1000\ndepartments: {9: 50000.5}\n"))

    assert (config.configured(9), config.configured(3)) == (Decimal("50000.5"), Decimal("1000"))


def test_given_shipped_budgets_then_valid_and_every_department_exists_in_the_demo_company() -> None:
    config = load_budget_config(SHIPPED)
    directory = StaticDirectory.from_yaml(DEMO_DIRECTORY)
    sales = next(d for d in directory.departments() if d.name == "销售部")

    assert config.period == "month" and config.timezone == "Asia/Shanghai"
    assert config.configured(sales.id) == Decimal("50000")
    assert set(config.departments) <= {d.id for d in directory.departments()}
    assert set(yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))) <= set(BudgetConfig.model_fields)


@pytest.mark.parametrize(("kind", "good", "bad"), [
    ("month", "2026-11", "2026-13"),
    ("quarter", "2026-Q4", "2026-11"),
    ("year", "2026", "2026-Q1"),
])
def test_given_api_period_then_accepted_only_in_the_configured_kind(kind, good, bad) -> None:
    config = BudgetConfig(period=kind)

    assert config.parse_period(good) == good
    with pytest.raises(InvalidInput) as caught:
        config.parse_period(bad)
    assert caught.value.message.startswith("period:")
