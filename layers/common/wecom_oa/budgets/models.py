"""Boundaries of the budgets API (`PUT|GET /budgets/{department_id}`), validated by powertools."""

from __future__ import annotations

from decimal import Decimal

from pydantic import ConfigDict, Field

from wecom_oa.validation import Model


class SetBudget(Model):
    """PUT body: the department's budget in CNY for the current period, or for `period`
    (a key of the configured kind: `2026-11`, `2026-Q4` or `2026`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True,
                              json_schema_extra={"examples": [{"amount": "50000.00"}, {"amount": 120000, "period": "2026-Q4"}]})

    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)
    period: str | None = Field(None, min_length=4, max_length=7)


# WeCom department ids are 32-bit.
DEPARTMENT_ID_MIN, DEPARTMENT_ID_MAX = 1, 2**32 - 1
