"""Boundaries of the budgets API (`PUT|GET /budgets/{department_id}`), validated with `parse`."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class SetBudget(BaseModel):
    """PUT body: the department's budget in CNY for the current period, or for `period`
    (a key of the configured kind: `2026-11`, `2026-Q4` or `2026`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    amount: Decimal = Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)
    period: str | None = Field(None, min_length=4, max_length=7)


class DepartmentPath(BaseModel):
    department_id: int = Field(ge=1, le=2**32 - 1)  # WeCom department ids are 32-bit
