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

Every state change is a conditional write; a failed condition is `Conflict` (already moved on).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
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


class ApprovalRepository:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # -- approval ------------------------------------------------------------------------------
    def create(self, item: Mapping[str, Any], *, open_due_iso: str | None) -> None:
        record = {**Keys.approval(item["id"]), **item, **applicant_keys(item["applicant"], item["created_at"], item["id"])}
        if open_due_iso is not None:
            record.update(Keys.open_index(OPEN_KIND, None, open_due_iso, item["id"]))
        self.table.put_new(record)

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
        """Conditional update; raises Conflict when `condition` does not hold."""
        return self.table.update(Keys.approval(approval_id), set_fields=fields, remove_fields=remove,
                                 condition=condition, condition_values=values, condition_names=names)

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
