"""Digest persistence: run records, production orders with their alarm state, daily reports.

| entity       | pk                | sk              | gsi1 (sparse)                        |
|--------------|-------------------|-----------------|--------------------------------------|
| digest run   | RUN#{period key}  | META (TTL 40 d) |                                      |
| order        | ORDER#{order id}  | META            | OPEN#ORDER / {end UTC}#{order id}    |
| daily report | REPORTS#{userid}  | DAY#{date}      |                                      |

Guarantees
- A run is claimed with a conditional put; a second claim of the same period gets `claimed=False`
  unless the first run failed (status `failed`) or its lease expired (crashed mid-run), so a
  double-fire sends once and a failed run stays retryable. Each delivery is recorded on the run
  (`sent.{delivery}`), so a retry skips what already went out.
- An order's alarm state is saved with `version` (StaleVersion when another run moved it).
- A report date per user is one item; the latest one is read with a single descending query.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from wecom_oa.aws.dynamo import GSI_OPEN, DynamoTable, Keys
from wecom_oa.clock import utc_iso
from wecom_oa.digests.progress import ActualReport, AlarmState, ProductionPlan
from wecom_oa.digests.reports import DailyReport
from wecom_oa.errors import AlreadyExists, Conflict

RUN_TTL = timedelta(days=40)
RUN_LEASE = timedelta(minutes=10)  # a run "running" longer than the function timeout has crashed


def _run_key(period_key: str) -> dict[str, str]:
    return {"pk": f"RUN#{period_key}", "sk": Keys.META}


def _order_key(order_id: str) -> dict[str, str]:
    return {"pk": f"ORDER#{order_id}", "sk": Keys.META}


def _report_key(userid: str, day: date) -> dict[str, str]:
    return {"pk": f"REPORTS#{userid}", "sk": f"DAY#{day.isoformat()}"}


class RunStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def claim(self, period_key: str, now: datetime) -> dict[str, Any] | None:
        """The run record if this caller now owns the period, None if it is done or in progress."""
        fields = {"status": "running", "started_at": now.astimezone(UTC).isoformat()}
        try:
            self.table.put_new({**_run_key(period_key), "entity": "digest_run", **fields, "sent": {},
                                "expires_at": int((now + RUN_TTL).timestamp())})
            return {"sent": {}}
        except AlreadyExists:
            pass
        stale = (now - RUN_LEASE).astimezone(UTC).isoformat()
        try:
            return self.table.update(
                _run_key(period_key), set_fields=fields,
                condition="#st = :failed OR (#st = :running AND started_at < :stale)",
                condition_values={":failed": "failed", ":running": "running", ":stale": stale},
                condition_names={"#st": "status"})
        except Conflict:
            return None

    def mark_sent(self, period_key: str, delivery: str) -> None:
        self.table.update(_run_key(period_key), set_fields={("sent", delivery): True})

    def finish(self, period_key: str, status: str, **extra: Any) -> None:
        """status `done` (never claimable again) or `failed` (claimable by a retry)."""
        self.table.update(_run_key(period_key), set_fields={"status": status, **extra})

    def get(self, period_key: str) -> dict[str, Any] | None:
        return self.table.get(_run_key(period_key))


class OrderStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def plans(self, order_ids: set[str]) -> dict[str, ProductionPlan]:
        out = {}
        for oid in sorted(order_ids):
            item = self.table.get(_order_key(oid))
            if item is not None:
                out[oid] = ProductionPlan.model_validate(item["plan"])
        return out

    def save_plan(self, plan: ProductionPlan) -> None:
        """Create or replace an order's plan (its actual and alarm state are kept); the order is open."""
        self.table.update(_order_key(plan.order_id), must_exist=False, set_fields={
            "entity": "order", "plan": plan.model_dump(mode="json"),
            **Keys.open_index("ORDER", None, utc_iso(plan.end), plan.order_id)})

    def save_actual(self, actual: ActualReport, at: datetime) -> bool:
        """Keep the latest actual (by `at`); an older report than the stored one is ignored (False)."""
        when = (actual.at or at).astimezone(UTC).isoformat()
        try:
            self.table.update(_order_key(actual.order_id),
                              set_fields={"actual_qty": actual.actual_qty, "actual_at": when},
                              condition="attribute_not_exists(actual_at) OR actual_at <= :at",
                              condition_values={":at": when})
        except Conflict:
            return False
        return True

    def open_orders(self) -> Iterator[dict[str, Any]]:
        yield from self.table.query(Keys.open_index("ORDER", None, "", "")["gsi1pk"], index=GSI_OPEN)

    def save_state(self, order_id: str, state: AlarmState, expected_version: int | None) -> None:
        """Store the alarm state; StaleVersion when another run changed it since `expected_version`
        (None: the order had no state yet)."""
        body = {"alarm": state.model_dump(mode="json")}
        if expected_version is None:
            self.table.update(_order_key(order_id), set_fields={**body, "version": 1},
                              condition="attribute_not_exists(version)")
        else:
            self.table.update(_order_key(order_id), set_fields=body, expected_version=expected_version)

    def close(self, order_id: str) -> None:
        self.table.update(_order_key(order_id), remove_fields=["gsi1pk", "gsi1sk"], set_fields={"closed": True})


class ReportStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def save(self, report: DailyReport, received_at: datetime) -> None:
        self.table.put({**_report_key(report.userid, report.date), "entity": "daily_report",
                        **report.model_dump(mode="json"), "received_at": received_at.astimezone(UTC).isoformat()})

    def dates_on_or_before(self, userid: str, day: date, *, limit: int) -> list[date]:
        """The user's latest `limit` report dates up to `day`, newest first."""
        pk = f"REPORTS#{userid}"
        return [date.fromisoformat(item["date"])
                for item in self.table.query(pk, sk_between=("DAY#", f"DAY#{day.isoformat()}"), ascending=False,
                                             limit=limit)]
