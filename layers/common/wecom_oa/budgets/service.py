"""Department budgets: the provider the budget pre-check reads, the consumption hooks of approvals,
and the HTTP API for ERP systems (`PUT|GET /budgets/{department_id}`).

Consumption: when a request whose rule set runs the `budget` pre-check ends approved, its amount
(the check's `field`, default `amount`) counts against the applicant's main department in the
period of the approval time, once per approval id; a revoked approval gives it back once (see
budgets/store.py). Amounts are recorded whether or not the department has a budget yet,
so a budget set later in the period sees what was already spent.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from wecom_oa import wiring
from wecom_oa.aws.dynamo import app_table
from wecom_oa.budgets.domain import BudgetConfig, load_budget_config
from wecom_oa.budgets.models import SetBudget
from wecom_oa.budgets.store import DynamoBudgets
from wecom_oa.errors import NotFound, OAError
from wecom_oa.observability import logger
from wecom_oa.settings import get_settings

BUDGET_CHECK = "budget"


@lru_cache(maxsize=4)
def _config(path: Path) -> BudgetConfig:
    return load_budget_config(path)


def config() -> BudgetConfig:
    """config/budgets.yaml of the configured config dir (cached per container)."""
    return _config(get_settings().config_dir / "budgets.yaml")


def provider() -> DynamoBudgets:
    """Budgets of the current period in the app table (loads budgets.yaml)."""
    return DynamoBudgets(config(), app_table())


class LazyBudgets:
    """The `BudgetProvider` of the budget pre-check: budgets.yaml is read only when a budget check
    actually runs, so a broken budgets file stops expense checks (naming the file), not leave."""

    def remaining(self, department_id: int) -> Decimal | None:
        return provider().remaining(department_id)


# -- approval hooks -------------------------------------------------------------------------------

def consume_approved(approval: Mapping[str, Any], field: str | None) -> None:
    """Count an approved request against its department's budget, once per approval id: `field`
    is the form's amount field of the rule set's budget check (None: the rule set runs none, a no-op;
    the approvals feature knows its rule sets). No-op without a positive amount, or when the
    applicant has no department. Raises UpstreamError when DynamoDB fails (the caller's retry is safe)."""
    amount = _amount((approval.get("form") or {}).get(field)) if field else None
    if amount is None or amount <= 0:
        return
    department_id = _department_of(str(approval["applicant"]))
    if department_id is None:
        return
    if provider().consume(str(approval["id"]), department_id, amount):
        logger.info("budget consumed", extra={"approval_id": approval["id"], "department_id": department_id,
                                              "amount": str(amount)})


def give_back(approval_id: str) -> None:
    """A revoked approval's consumption goes back to its period, once (no-op if it consumed nothing)."""
    amount = provider().give_back(approval_id)
    if amount is not None:
        logger.info("budget given back", extra={"approval_id": approval_id, "amount": str(amount)})


def _amount(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _department_of(userid: str) -> int | None:
    """The applicant's main department (as the budget pre-check sees it); None if unknown."""
    try:
        return wiring.directory().user(userid).department
    except NotFound:
        logger.warning("budget not consumed: applicant not in the directory", extra={"userid": userid})
        return None


# -- what the HTTP API calls (budgets/api.py) -----------------------------------------------------

def set_for(department_id: int, body: SetBudget) -> dict[str, Any]:
    """Set a department's budget for the current (or given) period, overriding budgets.yaml."""
    budgets = provider()
    period = budgets.config.parse_period(body.period) if body.period else None
    _known_department(department_id)
    return budgets.set_budget(department_id, body.amount, period).model_dump(mode="json")


def status_of(department_id: int, period: str | None = None) -> dict[str, Any]:
    """{department_id, period, budget, spent, remaining, source}; money as decimal strings."""
    budgets = provider()
    parsed = budgets.config.parse_period(period) if period else None
    _known_department(department_id)
    return budgets.status(department_id, parsed).model_dump(mode="json")


def _known_department(department_id: int) -> None:
    """NotFound (404) when the directory says the department does not exist; a directory that
    cannot answer (no permission, WeCom down) does not block setting a budget."""
    try:
        wiring.directory().department(department_id)
    except NotFound:
        raise NotFound(f"department_id: unknown department {department_id}",
                       details=[{"field": "department_id", "problem": "not in the directory"}]) from None
    except OAError as exc:
        logger.warning("department not verified", extra={"department_id": department_id, "problem": exc.message})
