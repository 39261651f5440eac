"""Approvals in the one table: the approval item, one decision item per approver per stage, and
invoice uses (for the duplicate-invoice pre-check).

Item layout (keys from `Keys`):
- `APPROVAL#{id} / META`: the approval; `stages` is a map `"1".."n"` → stage state, `cards` a map
  task_id → {stage, round, recipients}. Open approvals carry gsi1 keys (`OPEN#APPROVAL`).
- `APPROVAL#{id} / STAGE#{nn}#{userid}`: one decision; created with a conditional put in the
  click's transaction (`record_click`), so an approver decides a stage once (a second click is a
  no-op). The stage state keeps the same decisions (`stages["n"].decisions`: userid → decision), so
  a click judges the stage from the approval item alone.
- invoice use: `APPROVAL#{id} / INVOICE` with gsi2 `INVOICE#{normalised no}`.
- lists (`GET /approvals`, newest first, sort key `{created_at UTC}#{id}`): the approval carries
  gsi2 `APPLICANT#{applicant}` and gsi3 `APPROVALS#STATUS#{status}` (moved by every write that sets
  `status`); list entries `APPROVAL#{id} / LIST#TYPE`, `LIST#ALL` and `LIST#APPROVER#{userid}` (one
  per approver of any stage or round) carry gsi3 `APPROVALS#TYPE#{type}`, `APPROVALS#ALL` and
  `APPROVALS#APPROVER#{userid}`. Every index is keys only: a page reads its approvals by key.

Every state change is a conditional write; a failed condition is `Conflict` (already moved on).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from wecom_oa.aws.dynamo import GSI_LOOKUP, GSI_OPEN, DynamoTable, Keys
from wecom_oa.errors import Conflict, NotFound

if TYPE_CHECKING:
    from wecom_oa.approvals.prechecks import InvoiceUse

# prechecks (its models, yaml) is imported by the invoice methods only: most readers of approvals
# never touch an invoice.

OPEN_KIND = "APPROVAL"
DECISION_PREFIX = "STAGE#"
INVOICE_SK = "INVOICE"
FINAL_STATUSES = frozenset({"approved", "rejected", "auto_rejected", "failed"})


APPLICANT_KIND = "APPLICANT"


def applicant_keys(applicant: str, created_at: str, approval_id: str) -> dict[str, str]:
    """gsi2 keys listing an applicant's approvals, newest first (`GET /approvals?applicant=`)."""
    return {"gsi2pk": f"{APPLICANT_KIND}#{applicant}", "gsi2sk": f"{created_at}#{approval_id}"}


LIST_PREFIX = "APPROVALS#"
LIST_ENTRY = "LIST#"


def list_partition(kind: str, value: str | None = None) -> str:
    """gsi3 partition of an approvals list: `STATUS`, `TYPE`, `APPROVER` with a value; `ALL`."""
    return f"{LIST_PREFIX}{kind}" if value is None else f"{LIST_PREFIX}{kind}#{value}"


def _sort_key(item: Mapping[str, Any]) -> str:
    return f"{item['created_at']}#{item['id']}"


def approvers_of(item: Mapping[str, Any]) -> list[str]:
    """Every approver of the approval's stages (first round and later ones), first seen first."""
    stages = item.get("stages") or {}
    found = [u for _, st in sorted(stages.items(), key=lambda kv: int(kv[0]))
             for u in [*(st.get("approvers") or []), *(st.get("round_approvers") or [])]]
    return list(dict.fromkeys(found))


class ApprovalRepository:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # -- approval ------------------------------------------------------------------------------
    def create(self, item: Mapping[str, Any], *, open_due_iso: str | None) -> None:
        record = {**Keys.approval(item["id"]), **item, **applicant_keys(item["applicant"], item["created_at"], item["id"]),
                  "gsi3pk": list_partition("STATUS", item["status"]), "gsi3sk": _sort_key(item)}
        if open_due_iso is not None:
            record.update(Keys.open_index(OPEN_KIND, None, open_due_iso, item["id"]))
        self.table.put_new(record)
        self._put_entries(self._entries(item))

    def _entries(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        return [self._entry(item, "TYPE", list_partition("TYPE", item["type"])),
                self._entry(item, "ALL", list_partition("ALL")),
                *(self._approver_entry(item, u) for u in approvers_of(item))]

    def backfill_lists(self, item: Mapping[str, Any]) -> bool:
        """Give an approval stored before the lists existed its list keys and entries (what `create`
        writes now); False when it has them already or lacks what a list sorts and filters by.
        Idempotent: a second run writes the same."""
        if item.get("gsi3sk") or not all(item.get(k) for k in ("id", "type", "applicant", "status", "created_at")):
            return False
        self.table.update(Keys.approval(item["id"]), set_fields={
            "gsi3pk": list_partition("STATUS", item["status"]), "gsi3sk": _sort_key(item),
            **(applicant_keys(item["applicant"], item["created_at"], item["id"]) if not item.get("gsi2pk") else {})})
        self._put_entries(self._entries(item))
        return True

    def _entry(self, item: Mapping[str, Any], name: str, partition: str) -> dict[str, Any]:
        return {"pk": Keys.approval(item["id"])["pk"], "sk": f"{LIST_ENTRY}{name}", "entity": "approval_list_entry",
                "gsi3pk": partition, "gsi3sk": _sort_key(item)}

    def _approver_entry(self, item: Mapping[str, Any], userid: str) -> dict[str, Any]:
        return self._entry(item, f"APPROVER#{userid}", list_partition("APPROVER", userid))

    def _put_entries(self, entries: Iterable[Mapping[str, Any]]) -> None:
        from wecom_oa.aws.dynamo import to_dynamo

        pending = [{"PutRequest": {"Item": {k: to_dynamo(v) for k, v in e.items()}}} for e in entries]
        for at in range(0, len(pending), 25):
            batch = {self.table.name: pending[at:at + 25]}
            while batch:
                batch = self.table._call("batch_write_item", RequestItems=batch).get("UnprocessedItems") or {}

    def list_page(self, partition: str, *, index: str, limit: int, start: Mapping[str, str] | None,
                  sk_between: tuple[str, str] | None, keep: Callable[[Mapping[str, Any]], bool] | None,
                  max_reads: int) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of an approvals list (newest first): the approvals of `partition` of `index`
        (gsi1 open, gsi2 applicant, gsi3 status / type / approver / all), read by key a page at a
        time, those `keep` accepts; at most `max_reads` index entries read."""
        def resolve(hits: list[dict[str, Any]]) -> list[dict[str, Any] | None]:
            return self.table.get_many([Keys.approval(h["pk"].removeprefix("APPROVAL#")) for h in hits])

        return self.table.list_page(partition, index=index, ascending=False, limit=limit, start=start,
                                    sk_between=sk_between, keep=keep, max_reads=max_reads,
                                    resolve=None if index == GSI_OPEN else resolve)

    def by_applicant(self, applicant: str, limit: int, start: Mapping[str, str] | None
                     ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of the applicant's approvals, newest first (the index holds keys: one read each)."""
        keys, last = self.table.query_page(f"{APPLICANT_KIND}#{applicant}", index=GSI_LOOKUP, ascending=False,
                                           limit=limit, start=start)
        items = [self.table.get({"pk": k["pk"], "sk": k["sk"]}, consistent=False) for k in keys]
        return [i for i in items if i is not None], last

    def pending(self) -> list[dict[str, Any]]:
        """Approvals waiting for a decision, earliest due first (the open index)."""
        return [i for i in self.table.query(Keys.open_index(OPEN_KIND, None, "", "")["gsi1pk"], index=GSI_OPEN)
                if i.get("status") == "pending"]

    def get(self, approval_id: str) -> dict[str, Any]:
        item = self.table.get(Keys.approval(approval_id))
        if item is None:
            raise NotFound(f"approval {approval_id!r} not found")
        return item

    def update(self, approval_id: str, fields: Mapping[str | tuple[str, ...], Any], *,
               condition: str | None = None, values: Mapping[str, Any] | None = None,
               names: Mapping[str, str] | None = None, remove: tuple[str, ...] = ()) -> dict[str, Any]:
        """Conditional update; raises Conflict when `condition` does not hold. A new `status` moves
        the approval to its status list; new approvers of a stage get their list entries."""
        if "status" in fields:
            fields = {**fields, "gsi3pk": list_partition("STATUS", str(fields["status"]))}
        item = self.table.update(Keys.approval(approval_id), set_fields=fields, remove_fields=remove,
                                 condition=condition, condition_values=values, condition_names=names)
        added = [u for f, v in fields.items() if isinstance(f, tuple) and f[-1] in ("approvers", "round_approvers")
                 for u in (v or [])]
        if added and item.get("created_at"):
            self._put_entries(self._approver_entry(item, u) for u in dict.fromkeys(added))
        return item

    def move_stage(self, approval_id: str, stage: int, from_status: str, fields: Mapping[str, Any]) -> bool:
        """Set fields of stage `stage` if its status is `from_status`; False if it already moved."""
        try:
            self.update(approval_id, {("stages", str(stage), k): v for k, v in fields.items()},
                        condition="#sg.#n.#st = :from", values={":from": from_status},
                        names={"#sg": "stages", "#n": str(stage), "#st": "status"})
        except Conflict:
            return False
        return True

    def finish(self, approval_id: str, status: str, fields: Mapping[str, Any]) -> bool:
        """Final status once (from pending); drops the open-index keys. False if already final."""
        try:
            self.update(approval_id, {"status": status, **fields}, condition="#s = :p",
                        values={":p": "pending"}, names={"#s": "status"}, remove=("gsi1pk", "gsi1sk"))
        except Conflict:
            return False
        return True

    def revoke(self, approval_id: str, fields: Mapping[str, Any]) -> bool:
        """approved → revoked once (an approved WeCom form revoked afterwards). False otherwise."""
        try:
            self.update(approval_id, {"status": "revoked", **fields}, condition="#s = :a",
                        values={":a": "approved"}, names={"#s": "status"})
        except Conflict:
            return False
        return True

    def add_card(self, approval_id: str, task_id: str, info: Mapping[str, Any]) -> None:
        self.update(approval_id, {("cards", task_id): dict(info)})

    # -- decisions -----------------------------------------------------------------------------
    def record_click(self, operations: list[dict[str, Any]]) -> None:
        """A click's decision as one transaction (`DynamoTable.transact` operations: the decision
        item, the approval's stage state, the cards it closes or registers); Conflict when any
        condition fails, and then nothing is written."""
        self.table.transact(operations)

    def decisions(self, approval_id: str, stage: int | None = None) -> list[dict[str, Any]]:
        prefix = DECISION_PREFIX if stage is None else f"{DECISION_PREFIX}{stage:02d}#"
        return list(self.table.query(Keys.approval(approval_id)["pk"], sk_prefix=prefix))

    # -- invoices ------------------------------------------------------------------------------
    def record_invoice(self, approval_id: str, invoice_no: str, applicant: str, at: datetime) -> None:
        from wecom_oa.approvals.prechecks import normalise_invoice_no

        self.table.put({"pk": Keys.approval(approval_id)["pk"], "sk": INVOICE_SK,
                        **Keys.lookup("INVOICE", normalise_invoice_no(invoice_no)),
                        "invoice_no": invoice_no, "approval_id": approval_id, "applicant": applicant,
                        "used_at": at.isoformat()})

    def invoice_uses(self, invoice_no: str) -> Iterator[dict[str, Any]]:
        """Full items (the lookup index may project keys only)."""
        from wecom_oa.approvals.prechecks import normalise_invoice_no

        for hit in self.table.query(Keys.lookup("INVOICE", normalise_invoice_no(invoice_no))["gsi2pk"],
                                    index=GSI_LOOKUP):
            item = self.table.get({"pk": hit["pk"], "sk": hit["sk"]}, consistent=False)
            if item is not None:
                yield item


class DynamoSeenInvoices:
    """`SeenInvoices` port over the table: the earliest approval that used an invoice number."""

    def __init__(self, repo: ApprovalRepository) -> None:
        self._repo = repo

    def first_use(self, invoice_no: str) -> InvoiceUse | None:
        from wecom_oa.approvals.prechecks import InvoiceUse

        uses = sorted(self._repo.invoice_uses(invoice_no), key=lambda u: u.get("used_at", ""))
        if not uses:
            return None
        u = uses[0]
        return InvoiceUse(invoice_no=u["invoice_no"], request_id=u["approval_id"], applicant=u["applicant"],
                          used_at=datetime.fromisoformat(u["used_at"]))
