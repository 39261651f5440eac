"""Tasks (待办) in the app table: one `TASK#{id} / META` item per task.

Guarantees
- `create` is a conditional put: an id is written once (`AlreadyExists` otherwise). Tasks with an
  external id get an id derived from it (`services.tasks.task_id_for`), so this one write is what
  makes creation idempotent for the calling system; the item also carries gsi2 keys
  `TASKEXT#{external_id}` (`Keys.lookup`) so it can be found by that id.
- Open tasks carry the sparse gsi1 keys `OPEN#TASK#{group}` / `{due UTC Z}#{id}` (no due date sorts
  last); `close` removes them in the same conditional write that leaves `open`, so a task is closed
  once and the daily summary (which reads only gsi1) stops showing it.
- A closed task carries the gsi3 keys `TASKS#{group}#{status}` / `{closed UTC}#{id}` (set in that
  same write): `GET /tasks?status=done` reads a page of them, most recently closed first.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from wecom_oa.aws.dynamo import GSI_LIST, GSI_OPEN, DynamoTable, Keys
from wecom_oa.clock import utc_iso
from wecom_oa.errors import Conflict, NotFound

OPEN_KIND = "TASK"
LOOKUP_KIND = "TASKEXT"
NO_DEADLINE = "9999-12-31T23:59:59Z"


def open_keys(group: str, due: datetime | None, task_id: str) -> dict[str, str]:
    return Keys.open_index(OPEN_KIND, group, utc_iso(due) if due else NO_DEADLINE, task_id)


def closed_partition(group: str, status: str) -> str:
    """gsi3 partition of a group's tasks closed as `status` (done, cancelled)."""
    return f"TASKS#{group}#{status}"


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
        current = self.find(task_id)
        if current is None or current.get("status") != "open":
            return None
        fields: dict[str, Any] = {"status": status, f"{status}_at": at.isoformat(),
                                  "gsi3pk": closed_partition(current["group"], status),
                                  "gsi3sk": f"{at.astimezone(UTC).isoformat()}#{task_id}"}
        if by:
            fields[f"{status}_by"] = by
        try:
            return self.table.update(Keys.task(task_id), set_fields=fields, remove_fields=("gsi1pk", "gsi1sk"),
                                     condition="#s = :open", condition_names={"#s": "status"},
                                     condition_values={":open": "open"})
        except Conflict:
            return None

    def backfill_closed(self, item: Mapping[str, Any]) -> bool:
        """Give a task closed before the closed lists existed its gsi3 keys (what `close` writes
        now); False when it has them, is open, or lacks its closing time."""
        status = item.get("status")
        closed_at = item.get(f"{status}_at")
        if item.get("gsi3sk") or status not in ("done", "cancelled") or not closed_at or not item.get("group"):
            return False
        self.table.update(Keys.task(item["id"]), set_fields={
            "gsi3pk": closed_partition(item["group"], status),
            "gsi3sk": f"{datetime.fromisoformat(closed_at).astimezone(UTC).isoformat()}#{item['id']}"})
        return True

    def mark_notified(self, task_id: str, at: datetime) -> None:
        self.table.update(Keys.task(task_id), set_fields={"notified_at": at.isoformat()})

    def list_page(self, group: str, status: str, limit: int, start: Mapping[str, str] | None
                  ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of `group`'s tasks in `status`: open ones earliest due first from the open index
        (projection ALL), closed ones most recently closed first from gsi3 (keys only, read by key);
        `limit` + 1 index entries read at most. The indexes are eventually consistent: a task whose
        status moved a moment ago is left out."""
        if status == "open":
            return self.table.list_page(Keys.open_index(OPEN_KIND, group, "", "")["gsi1pk"], index=GSI_OPEN,
                                        ascending=True, limit=limit, start=start,
                                        keep=lambda item: item.get("status") == "open")
        return self.table.list_page(closed_partition(group, status), index=GSI_LIST, ascending=False, limit=limit,
                                    start=start, resolve=lambda hits: self.table.get_many(hits),
                                    keep=lambda item: item.get("status") == status)
