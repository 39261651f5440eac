"""Tasks (待办) in the app table: one `TASK#{id} / META` item per task.

Guarantees
- `create` is a conditional put: an id is written once (`AlreadyExists` otherwise). Tasks with an
  external id get an id derived from it (`services.tasks.task_id_for`), so this one write is what
  makes creation idempotent for the calling system; the item also carries gsi2 keys
  `TASKEXT#{external_id}` (`Keys.lookup`) so it can be found by that id.
- Open tasks carry the sparse gsi1 keys `OPEN#TASK#{group}` / `{due UTC Z}#{id}` (no due date sorts
  last); `close` removes them in the same conditional write that leaves `open`, so a task is closed
  once and the daily summary (which reads only gsi1) stops showing it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from wecom_oa.aws.dynamo import GSI_OPEN, DynamoTable, Keys
from wecom_oa.clock import utc_iso
from wecom_oa.errors import Conflict, NotFound

OPEN_KIND = "TASK"
LOOKUP_KIND = "TASKEXT"
NO_DEADLINE = "9999-12-31T23:59:59Z"


def open_keys(group: str, due: datetime | None, task_id: str) -> dict[str, str]:
    return Keys.open_index(OPEN_KIND, group, utc_iso(due) if due else NO_DEADLINE, task_id)


class TaskRepository:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def create(self, item: Mapping[str, Any], *, due: datetime | None) -> None:
        """Store a new open task. Raises `AlreadyExists` when the id is taken."""
        record = {**Keys.task(item["id"]), "entity": "task", **item,
                  **open_keys(item["group"], due, item["id"])}
        if item.get("external_id"):
            record.update(Keys.lookup(LOOKUP_KIND, item["external_id"]))
        self.table.put_new(record)

    def get(self, task_id: str) -> dict[str, Any]:
        item = self.table.get(Keys.task(task_id))
        if item is None:
            raise NotFound(f"task {task_id!r} not found", details={"field": "id"})
        return item

    def find(self, task_id: str) -> dict[str, Any] | None:
        return self.table.get(Keys.task(task_id))

    def close(self, task_id: str, status: str, by: str | None, at: datetime) -> dict[str, Any] | None:
        """open → `status` (done / cancelled) once, recording `{status}_at` and `{status}_by`, and
        out of the open index. Returns the closed item, or None when it was not open (or absent)."""
        fields: dict[str, Any] = {"status": status, f"{status}_at": at.isoformat()}
        if by:
            fields[f"{status}_by"] = by
        try:
            return self.table.update(Keys.task(task_id), set_fields=fields, remove_fields=("gsi1pk", "gsi1sk"),
                                     condition="#s = :open", condition_names={"#s": "status"},
                                     condition_values={":open": "open"})
        except Conflict:
            return None

    def mark_notified(self, task_id: str, at: datetime) -> None:
        self.table.update(Keys.task(task_id), set_fields={"notified_at": at.isoformat()})

    def list_open(self, group: str) -> list[dict[str, Any]]:
        """Open tasks of `group`, earliest due first, from the sparse open index only (projection
        ALL). The index is eventually consistent: a task closed a moment ago is filtered out."""
        pk = Keys.open_index(OPEN_KIND, group, "", "")["gsi1pk"]
        return [item for item in self.table.query(pk, index=GSI_OPEN) if item.get("status") == "open"]
