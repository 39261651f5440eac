"""Department budgets: the config (config/budgets.yaml), budget periods and the remaining amount.

A department's budget for a period is the amount set through the API for that period (an ERP
override) or else the YAML amount for the department, else the YAML `default`; with none of them the
department has no budget and the budget pre-check finds nothing. Spent is the sum of approved
amounts recorded in the period (budgets/store.py); remaining = budget − spent, which is
negative once approvals went over budget.

Periods are calendar months, quarters or years in the config's timezone (Asia/Shanghai by default):
keys read `2026-03`, `2026-Q1`, `2026`. Pure: no I/O besides reading the YAML file given.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import ConfigDict, Field, ValidationError, field_validator

from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.validation import Model

PeriodKind = Literal["month", "quarter", "year"]
Amount = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]

_KEY_PATTERNS: dict[str, re.Pattern[str]] = {
    "month": re.compile(r"^(?P<year>\d{4})-(?P<month>0[1-9]|1[0-2])$"),
    "quarter": re.compile(r"^(?P<year>\d{4})-Q(?P<quarter>[1-4])$"),
    "year": re.compile(r"^(?P<year>\d{4})$"),
}
_KEY_EXAMPLES = {"month": "2026-11", "quarter": "2026-Q4", "year": "2026"}


class BudgetConfig(Model):
    """config/budgets.yaml. `departments` maps a WeCom department id to its budget per period (CNY)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period: PeriodKind = "month"
    timezone: str = "Asia/Shanghai"
    default: Amount | None = None
    departments: dict[int, Amount] = Field(default_factory=dict)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA timezone {value!r}") from None
        return value

    def configured(self, department_id: int) -> Decimal | None:
        """The YAML budget of a department per period (its own amount, else `default`, else None)."""
        return self.departments.get(department_id, self.default)

    def period_key(self, when: datetime) -> str:
        return period_key(when, self.period, self.timezone)

    def parse_period(self, text: str) -> str:
        """An API-given period key of this config's kind; InvalidInput naming `period` otherwise."""
        if not _KEY_PATTERNS[self.period].match(text):
            raise InvalidInput(
                f"period: expected a {self.period} such as {_KEY_EXAMPLES[self.period]} (budgets are per {self.period})",
                details=[{"field": "period", "problem": f"a {self.period} such as {_KEY_EXAMPLES[self.period]}"}],
            )
        return text


def load_budget_config(path: Path) -> BudgetConfig:
    """Load budgets.yaml; a missing file means no YAML budgets (monthly periods, nothing set).
    Raises ConfigurationError naming the file and the bad field."""
    if not path.exists():
        return BudgetConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path.name}: cannot read budgets ({type(exc).__name__})") from None
    if not isinstance(raw, dict):
        raise ConfigurationError(f"{path.name}: expected a mapping with period, default, departments")
    try:
        return BudgetConfig.model_validate(raw)
    except ValidationError as exc:
        where = "; ".join(".".join(str(p) for p in e["loc"]) + ": " + e["msg"]
                          for e in exc.errors(include_url=False, include_input=False))
        raise ConfigurationError(f"{path.name}: {where}") from None


def period_key(when: datetime, kind: PeriodKind, timezone: str = "Asia/Shanghai") -> str:
    """The budget period containing `when` (aware), in `timezone`: `2026-03`, `2026-Q1` or `2026`."""
    if when.tzinfo is None:
        raise ValueError("period_key needs an aware datetime")
    local = when.astimezone(ZoneInfo(timezone))
    if kind == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if kind == "quarter":
        return f"{local.year:04d}-Q{(local.month - 1) // 3 + 1}"
    return f"{local.year:04d}"


def remaining(budget: Decimal | None, spent: Decimal) -> Decimal | None:
    """Budget left in the period; None when the department has no budget (the check is off)."""
    return None if budget is None else budget - spent


class BudgetStatus(Model):
    """A department's budget in one period (GET /budgets/{department_id})."""

    model_config = ConfigDict(frozen=True)

    department_id: int
    period: str
    budget: Decimal | None
    spent: Decimal
    remaining: Decimal | None
    source: Literal["api", "config", "none"]
