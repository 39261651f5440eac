"""Fixtures for the rule tests. Helpers are fixtures (test dirs are not packages here)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wecom_oa.approvals.prechecks import ApprovalTemplates, builtin_prechecks
from wecom_oa.approvals.rules import ApprovalRequest, EvaluationContext, RuleSet
from wecom_oa.directory import StaticDirectory
from wecom_oa.settings import PACKAGE_DIR

REPO = Path(__file__).resolve().parents[3]
TABLES = Path(__file__).resolve().parent / "tables"
RULES_DIR = PACKAGE_DIR / "config" / "approval_rules"
FIXTURE_DIRECTORY = REPO / "tests" / "fixtures" / "directory.yaml"


@pytest.fixture(scope="session")
def directory() -> StaticDirectory:
    return StaticDirectory.from_yaml(FIXTURE_DIRECTORY)


@pytest.fixture(scope="session")
def templates() -> ApprovalTemplates:
    return ApprovalTemplates.load(PACKAGE_DIR / "templates" / "approvals.yaml")


@pytest.fixture(scope="session")
def tables_dir() -> Path:
    return TABLES


@pytest.fixture(scope="session")
def rules_dir() -> Path:
    return RULES_DIR


def _load(path: Path, overrides: dict) -> RuleSet:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(overrides)
    return RuleSet.model_validate(data)


@pytest.fixture(scope="session")
def table():
    """table(name, **top_level_overrides) → a crafted RuleSet from tests/unit/rules/tables."""
    return lambda name, **overrides: _load(TABLES / f"{name}.yaml", overrides)


@pytest.fixture(scope="session")
def shipped():
    """shipped(type, **top_level_overrides) → a shipped RuleSet from config/approval_rules."""
    return lambda name, **overrides: _load(RULES_DIR / f"{name}.yaml", overrides)


@pytest.fixture(scope="session")
def request_of():
    return lambda type_, applicant, **form: ApprovalRequest(type=type_, applicant=applicant, form=form)


@pytest.fixture
def make_context(directory, templates):
    """make_context(balances=…, invoices=…, budgets=…) → an EvaluationContext on the fixture company."""
    return lambda **ports: EvaluationContext(directory=directory, prechecks=builtin_prechecks(**ports),
                                             templates=templates)
