"""Department budgets in the one table: per (department, period) the spent sum and an optional
budget set through the API, plus one consumption marker per approval.

Item layout:
- `BUDGET#{department_id} / PERIOD#{period}`: `spent` (ADD only), `budget` (API override), and
  `department_id`, `period` for readers.
- `BUDGETUSE#{approval_id} / META`: the approval's consumption: department, period, amount,
  `consumed_at`, and `returned_at` once given back.

Exactly once: consuming puts the marker (attribute_not_exists) and ADDs to `spent` in one
transaction, so a retried or re-delivered approval adds nothing twice. Giving back sets
`returned_at` on the marker (must exist, not yet returned) and subtracts from the period the amount
was taken from, in one transaction. Numbers are DynamoDB decimals; amounts are CNY.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from wecom_oa.aws.dynamo import DynamoTable, Keys, to_dynamo
from wecom_oa.budgets.domain import BudgetConfig, BudgetStatus, remaining
from wecom_oa.clock import Clock, get_clock
from wecom_oa.errors import Conflict


class BudgetLedger:
    """Reads and writes of budget items. Raises UpstreamError/UpstreamThrottled from DynamoDB."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def period_item(self, department_id: int, period: str) -> dict[str, Any]:
        return self.table.get(Keys.budget_period(department_id, period)) or {}

    def set_budget(self, department_id: int, period: str, amount: Decimal, at: datetime) -> None:
        self.table.update(Keys.budget_period(department_id, period), must_exist=False, set_fields={
            "department_id": department_id, "period": period, "budget": amount, "budget_set_at": at.isoformat()})

    def consume(self, approval_id: str, department_id: int, period: str, amount: Decimal, at: datetime) -> bool:
        """Add `amount` to the period's spent once per approval; False when already recorded."""
        marker = {**Keys.budget_use(approval_id), "approval_id": approval_id, "department_id": department_id,
                  "period": period, "amount": amount, "consumed_at": at.isoformat()}
        spend = _add_spent(department_id, period, amount)
        try:
            self.table.transact([{"put": marker, "condition": "attribute_not_exists(pk)"}, {"update": spend}])
        except Conflict:
            if self.table.get(Keys.budget_use(approval_id)) is not None:
                return False
            raise
        return True

    def give_back(self, approval_id: str, at: datetime) -> Decimal | None:
        """Subtract a consumption from the period it was taken from, once; the amount given back,
        or None when the approval consumed nothing or was already given back."""
        use = self.table.get(Keys.budget_use(approval_id))
        if use is None or use.get("returned_at"):
            return None
        amount = _decimal(use["amount"])
        mark = {"Key": {k: to_dynamo(v) for k, v in Keys.budget_use(approval_id).items()},
                "UpdateExpression": "SET returned_at = :at",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(returned_at)",
                "ExpressionAttributeValues": {":at": to_dynamo(at.isoformat())}}
        refund = _add_spent(int(use["department_id"]), str(use["period"]), -amount)
        try:
            self.table.transact([{"update": mark}, {"update": refund}])
        except Conflict:
            return None  # a concurrent delivery gave it back first
        return amount


def _add_spent(department_id: int, period: str, amount: Decimal) -> dict[str, Any]:
    return {"Key": {k: to_dynamo(v) for k, v in Keys.budget_period(department_id, period).items()},
            "UpdateExpression": "ADD spent :amount SET department_id = :d, #p = :p",
            "ExpressionAttributeNames": {"#p": "period"},
            "ExpressionAttributeValues": {":amount": to_dynamo(amount), ":d": to_dynamo(department_id),
                                          ":p": to_dynamo(period)}}


def _decimal(value: Any) -> Decimal:
    # from_dynamo hands numbers back as int/float; str() restores the stored decimal digits.
    return Decimal(str(value)) if value is not None else Decimal(0)


class DynamoBudgets:
    """`BudgetProvider` over the ledger for the current period of `config` (clock: wecom_oa.clock)."""

    def __init__(self, config: BudgetConfig, table: DynamoTable, clock: Clock | None = None) -> None:
        self.config = config
        self.ledger = BudgetLedger(table)
        self._clock = clock

    @property
    def clock(self) -> Clock:
        return self._clock or get_clock()

    def current_period(self) -> str:
        return self.config.period_key(self.clock.now())

    def remaining(self, department_id: int) -> Decimal | None:
        return self.status(department_id).remaining

    def status(self, department_id: int, period: str | None = None) -> BudgetStatus:
        period = period or self.current_period()
        return status_of(self.config, department_id, period, self.ledger.period_item(department_id, period))

    def set_budget(self, department_id: int, amount: Decimal, period: str | None = None) -> BudgetStatus:
        period = period or self.current_period()
        self.ledger.set_budget(department_id, period, amount, self.clock.now())
        return self.status(department_id, period)

    def consume(self, approval_id: str, department_id: int, amount: Decimal) -> bool:
        now = self.clock.now()
        return self.ledger.consume(approval_id, department_id, self.config.period_key(now), amount, now)

    def give_back(self, approval_id: str) -> Decimal | None:
        return self.ledger.give_back(approval_id, self.clock.now())


def status_of(config: BudgetConfig, department_id: int, period: str, item: Mapping[str, Any]) -> BudgetStatus:
    """The period's figures: an API-set budget wins over the YAML one."""
    if item.get("budget") is not None:
        budget, source = _decimal(item["budget"]), "api"
    else:
        budget = config.configured(department_id)
        source = "none" if budget is None else "config"
    spent = _decimal(item.get("spent"))
    return BudgetStatus(department_id=department_id, period=period, budget=budget, spent=spent,
                        remaining=remaining(budget, spent), source=source)
