"""Workflows in the app table: `WORKFLOW#{id} / META` and one `WORKFLOW#{id} / STEP#{key}` item per
task of its template.

Guarantees (each a conditional write, never a read-then-write)
- A step leaves `locked` once: `count_done_prerequisite` adds the finished prerequisite to the
  step's `done_after` set only if it is not there yet (a redelivered event counts nothing) and
  answers how many are still missing; `unlock` moves `locked → open` once, so two prerequisites
  finishing at the same instant unlock their successor once.
- A step is done once (`open → done`), in the same transaction as the workflow's `done_count` + 1,
  so the count is exact; the workflow completes (`running → completed`) once.
- Cancelling moves `running → cancelled` once; its open steps are cancelled one by one, each once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from wecom_oa.aws.dynamo import DynamoTable
from wecom_oa.errors import AlreadyExists, Conflict, NotFound

META = "META"


def workflow_key(workflow_id: str) -> dict[str, str]:
    return {"pk": f"WORKFLOW#{workflow_id}", "sk": META}


def step_key(workflow_id: str, key: str) -> dict[str, str]:
    return {"pk": f"WORKFLOW#{workflow_id}", "sk": f"STEP#{key}"}


class WorkflowRepository:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def create(self, meta: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> None:
        """The steps first, then the workflow, each written only if absent, so a workflow that
        exists has all its steps and a repeated start (the same id: an approval's workflow) changes
        nothing. Raises `AlreadyExists` when the workflow exists."""
        workflow_id = meta["id"]
        if self.table.get(workflow_key(workflow_id)) is not None:
            raise AlreadyExists(f"workflow {workflow_id} exists")
        for step in steps:
            with contextlib.suppress(AlreadyExists):  # an interrupted start wrote it: keep it as it is
                self.table.put_new({**step_key(workflow_id, step["key"]), "entity": "workflow_step", **step})
        self.table.put_new({**workflow_key(workflow_id), "entity": "workflow", **meta})

    def get(self, workflow_id: str) -> dict[str, Any]:
        item = self.table.get(workflow_key(workflow_id))
        if item is None:
            raise NotFound(f"workflow {workflow_id!r} not found", details={"field": "id"})
        return item

    def steps(self, workflow_id: str) -> list[dict[str, Any]]:
        return list(self.table.query(f"WORKFLOW#{workflow_id}", sk_prefix="STEP#"))

    def load(self, workflow_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The workflow and all its steps in one Query of its partition (META sorts before STEP#)."""
        items = list(self.table.query(f"WORKFLOW#{workflow_id}"))
        meta = next((i for i in items if i["sk"] == META), None)
        if meta is None:
            raise NotFound(f"workflow {workflow_id!r} not found", details={"field": "id"})
        return meta, [i for i in items if i["sk"].startswith("STEP#")]

    def step(self, workflow_id: str, key: str) -> dict[str, Any]:
        item = self.table.get(step_key(workflow_id, key))
        if item is None:
            raise NotFound(f"workflow {workflow_id!r} has no task {key!r}", details={"field": "key"})
        return item

    def count_done_prerequisite(self, workflow_id: str, key: str, prerequisite: str) -> dict[str, Any] | None:
        """Record `prerequisite` as done for step `key` (once). Returns the step after the write, or
        None when it was recorded before (a redelivered event)."""
        try:
            return self.table.update(step_key(workflow_id, key), add_fields={"done_after": {prerequisite}},
                                     condition="NOT contains(#d, :p)", condition_names={"#d": "done_after"},
                                     condition_values={":p": prerequisite})
        except Conflict:
            return None

    def unlock(self, workflow_id: str, key: str, task_id: str, at: datetime) -> bool:
        """`locked → open` with the task that carries it; False when it left `locked` before."""
        return self._move(workflow_id, key, "locked", "open", {"task_id": task_id, "unlocked_at": at.isoformat()})

    def finish(self, workflow_id: str, key: str, status: str, by: str | None, at: datetime) -> bool:
        """`open → done|cancelled` once; False when the step was not open."""
        fields: dict[str, Any] = {f"{status}_at": at.isoformat()}
        if by:
            fields[f"{status}_by"] = by
        return self._move(workflow_id, key, "open", status, fields)

    def cancel_locked(self, workflow_id: str, key: str, at: datetime) -> bool:
        return self._move(workflow_id, key, "locked", "cancelled", {"cancelled_at": at.isoformat()})

    def finish_done(self, workflow_id: str, key: str, by: str | None, at: datetime) -> bool:
        """`open → done` and the workflow's `done_count` + 1 in one transaction, so the count never
        misses a done step (a crash between two writes would leave the workflow unfinished)."""
        names = {"#st": "state", "#at": "done_at"}
        values: dict[str, Any] = {":from": {"S": "open"}, ":to": {"S": "done"}, ":at": {"S": at.isoformat()}}
        sets = "#st = :to, #at = :at"
        if by:
            names["#by"], values[":by"] = "done_by", {"S": by}
            sets += ", #by = :by"
        try:
            self.table.transact([
                {"update": {"Key": {k: {"S": v} for k, v in step_key(workflow_id, key).items()},
                            "UpdateExpression": f"SET {sets}", "ConditionExpression": "#st = :from",
                            "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}},
                {"update": {"Key": {k: {"S": v} for k, v in workflow_key(workflow_id).items()},
                            "UpdateExpression": "ADD done_count :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            ])
        except Conflict:
            return False
        return True

    def close(self, workflow_id: str, status: str, at: datetime, by: str | None = None) -> dict[str, Any] | None:
        """`running → completed|cancelled` once; the workflow after the write, or None."""
        fields: dict[str, Any] = {"status": status, f"{status}_at": at.isoformat()}
        if by:
            fields[f"{status}_by"] = by
        try:
            return self.table.update(workflow_key(workflow_id), set_fields=fields, condition="#s = :running",
                                     condition_names={"#s": "status"}, condition_values={":running": "running"})
        except Conflict:
            return None

    def _move(self, workflow_id: str, key: str, source: str, target: str, fields: Mapping[str, Any]) -> bool:
        try:
            self.table.update(step_key(workflow_id, key), set_fields={"state": target, **fields},
                              condition="#st = :from", condition_names={"#st": "state"},
                              condition_values={":from": source})
            return True
        except Conflict:
            return False
