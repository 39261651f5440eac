"""Once, after upgrading a deployed stack to the list index gsi3: give the approvals and closed
tasks stored before it their list keys, so `GET /approvals` by approver, type, status (other than
pending) or none, and `GET /tasks?status=done|cancelled`, list them too. New items get the keys
when they are written; this reads the table once (a Scan, paged, of the items that lack them) and
is safe to run again or to stop and restart.

    TABLE_NAME=<the stack's AppTable> AWS_REGION=… python -m wecom_oa.cli.backfill_lists [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from wecom_oa.aws.dynamo import DynamoTable, app_table, from_dynamo


def backfill(table: DynamoTable, *, dry_run: bool = False) -> dict[str, int]:
    """Counts of what was (or, dry, would be) given list keys: `approvals`, `tasks`, `skipped`."""
    from wecom_oa.approvals.store import ApprovalRepository
    from wecom_oa.tasks.store import TaskRepository

    approvals, tasks = ApprovalRepository(table), TaskRepository(table)
    counts = {"approvals": 0, "tasks": 0, "skipped": 0}
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "FilterExpression": "sk = :meta AND attribute_not_exists(gsi3sk) AND "
                            "(begins_with(pk, :approval) OR begins_with(pk, :task))",
        "ExpressionAttributeValues": {":meta": {"S": "META"}, ":approval": {"S": "APPROVAL#"},
                                      ":task": {"S": "TASK#"}},
    }
    while True:
        page = table._call("scan", **kwargs)
        for raw in page.get("Items", []):
            item = from_dynamo(raw)
            is_approval = item["pk"].startswith("APPROVAL#")
            if dry_run:
                ok = _would(item, is_approval)
            else:
                ok = approvals.backfill_lists(item) if is_approval else tasks.backfill_closed(item)
            counts[("approvals" if is_approval else "tasks") if ok else "skipped"] += 1
        if "LastEvaluatedKey" not in page:
            return counts
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _would(item: dict[str, Any], is_approval: bool) -> bool:
    if is_approval:
        return all(item.get(k) for k in ("id", "type", "applicant", "status", "created_at"))
    return item.get("status") in ("done", "cancelled") and bool(item.get(f"{item.get('status')}_at"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backfill_lists", description="Give items stored before gsi3 their list keys.")
    parser.add_argument("--dry-run", action="store_true", help="count, write nothing")
    args = parser.parse_args(argv)
    counts = backfill(app_table(), dry_run=args.dry_run)
    verb = "would get" if args.dry_run else "got"
    print(f"{counts['approvals']} approvals and {counts['tasks']} closed tasks {verb} their list keys; "
          f"{counts['skipped']} left as they are (open tasks, native forms without an applicant)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
