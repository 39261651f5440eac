"""Notice persistence: `NOTICE#{id}/META` plus one `NOTICE#{id}/RCPT#{userid}` item per recipient.

Guarantees
- `create` writes the META item first (conditional: `AlreadyExists` if the id is taken), then the
  recipient items in batches of 25 (unprocessed items are re-sent until accepted).
- An open notice carries the sparse gsi1 keys `OPEN#NOTICE` / `{deadline UTC}#{id}`; `close` removes
  them, so the follow-up sweep reads only open notices.
- `record_ack` is a conditional write: the first acknowledgement of a recipient wins, a repeat is a
  no-op (returns False); a non-recipient raises `Forbidden`.
- `save_followup` is guarded by `version`: a concurrent or retried sweep that planned from an older
  state gets `StaleVersion` and must not send.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from wecom_oa.aws.dynamo import GSI_LOOKUP, GSI_OPEN, DynamoTable, Keys, to_dynamo
from wecom_oa.clock import utc_iso
from wecom_oa.errors import Conflict, Forbidden, NotFound
from wecom_oa.notices.domain import FollowupState, Notice

KIND = "NOTICE"
_RCPT = "RCPT#"
_DEPT = "DEPT#"
_BATCH_WRITE = 25


def _dept_key(notice_id: str, dept: int | None) -> dict[str, str]:
    return {"pk": f"NOTICEDEPT#{notice_id}", "sk": f"{_DEPT}{dept if dept is not None else 0}"}


def _partner_key(notice_id: str, corp: str) -> dict[str, str]:
    return {"pk": f"NOTICEPARTNER#{notice_id}", "sk": f"PARTNER#{corp}"}


def _region_key(notice_id: str, region: int) -> dict[str, str]:
    return {"pk": f"NOTICEREGION#{notice_id}", "sk": f"REGION#{region}"}


def list_month(moment: datetime, tz: Any) -> str:
    """The month (company time, `2026-05`) a notice created at `moment` is listed under."""
    return moment.astimezone(tz).strftime("%Y-%m")


def list_keys(notice: Notice) -> dict[str, str]:
    """gsi2 keys listing the notice under its month, newest last: `NOTICELIST#2026-05` /
    `{created UTC}#{id}` (`GET /notices` reads one page of a month)."""
    from zoneinfo import ZoneInfo

    from wecom_oa.clock import get_clock
    from wecom_oa.settings import get_settings

    created = notice.created_at or get_clock().now()
    month = list_month(created, ZoneInfo(get_settings().default_timezone))
    return {"gsi2pk": f"{LIST_PREFIX}{month}", "gsi2sk": f"{utc_iso(created)}#{notice.id}"}


LIST_PREFIX = "NOTICELIST#"


class NoticeRepository:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def create(self, notice: Notice, departments: Mapping[str, int | None],
               department_info: Mapping[int, Mapping[str, Any]] | None = None, *, sending: bool = False) -> None:
        """Store the notice (open) and its recipients. `sending`: only the META item now (status
        `sending`, counted recipients); `store_recipients` writes the rest from the send worker."""
        assert notice.id is not None
        deadline = utc_iso(notice.ack_deadline)
        self.table.put_new({
            **Keys.notice(notice.id), **Keys.open_index(KIND, None, deadline, notice.id),
            **list_keys(notice),
            "entity": "notice", "version": 1, "recipient_count": len(departments), "acknowledged": 0,
            "status": "sending" if sending else "sent", "sent_batch": {},
            "notice": notice.model_dump(mode="json"), "followup": FollowupState().model_dump(mode="json"),
        })
        if not sending:
            self.store_recipients(notice.id, departments, department_info or {})

    def store_partner_recipients(self, notice_id: str, partners: Mapping[str, tuple[str, Sequence[str]]]) -> None:
        """Members of downstream partner corps (`corpid:userid`), one counter per partner corp
        {corp, name, total, acked}; idempotent like `store_recipients`."""
        items: list[dict[str, Any]] = []
        for corp, (name, users) in partners.items():
            items += [{**Keys.notice_recipient(notice_id, f"{corp}:{u}"), "entity": "notice_recipient",
                       "userid": f"{corp}:{u}", "partner": corp} for u in users]
            items.append({**_partner_key(notice_id, corp), "entity": "notice_partner", "corp": corp, "name": name,
                          "total": len(users), "acked": 0})
        self._batch_put(items)

    def partners(self, notice_id: str) -> list[dict[str, Any]]:
        return list(self.table.query(_partner_key(notice_id, "")["pk"]))

    def store_recipients(self, notice_id: str, departments: Mapping[str, int | None],
                         department_info: Mapping[int, Mapping[str, Any]]) -> None:
        """One item per recipient, one counter per department ({name, region, total, acked}) and one
        per region, each kind in its own partition so a report reads only the counters it needs;
        idempotent (a redelivered send writes the same items)."""
        def region_of(dept: int | None) -> int:
            info = department_info.get(dept, {}) if dept is not None else {}
            return int(info.get("region") or 0)

        items = [{**Keys.notice_recipient(notice_id, userid), "entity": "notice_recipient", "userid": userid,
                  "department": dept, "region": region_of(dept)} for userid, dept in departments.items()]
        totals: dict[int | None, int] = {}
        for dept in departments.values():
            totals[dept] = totals.get(dept, 0) + 1
        items += [{**_dept_key(notice_id, dept), "entity": "notice_department", "department": dept,
                   "total": total, "acked": 0, **dict(department_info.get(dept, {}) if dept is not None else {})}
                  for dept, total in totals.items()]
        regions: dict[int, dict[str, Any]] = {}
        for dept, total in totals.items():
            region = regions.setdefault(region_of(dept), {
                **_region_key(notice_id, region_of(dept)), "entity": "notice_region", "region": region_of(dept),
                "region_name": (department_info.get(dept, {}) if dept is not None else {}).get("region_name"),
                "total": 0, "acked": 0, "departments": 0})
            region["total"] += total
            region["departments"] += 1
        self._batch_put(items + list(regions.values()))

    def departments(self, notice_id: str) -> list[dict[str, Any]]:
        """Per-department counters: {department, name, region, region_name, total, acked}."""
        return list(self.table.query(_dept_key(notice_id, 0)["pk"]))

    def regions(self, notice_id: str) -> list[dict[str, Any]]:
        """Per-region counters: {region, region_name, total, acked, departments}."""
        return list(self.table.query(_region_key(notice_id, 0)["pk"]))

    def mark_batch_sent(self, notice_id: str, index: int) -> None:
        self.table.update(Keys.notice(notice_id), set_fields={("sent_batch", str(index)): True})

    def sent_batches(self, notice_id: str) -> set[int]:
        item = self.table.get(Keys.notice(notice_id)) or {}
        return {int(k) for k in (item.get("sent_batch") or {})}

    def mark_sent(self, notice_id: str) -> None:
        self.table.update(Keys.notice(notice_id), set_fields={"status": "sent"})

    def _batch_put(self, items: Sequence[Mapping[str, Any]]) -> None:
        for start in range(0, len(items), _BATCH_WRITE):
            pending = [{"PutRequest": {"Item": {k: to_dynamo(v) for k, v in item.items() if v is not None}}}
                       for item in items[start:start + _BATCH_WRITE]]
            while pending:
                resp = self.table._call("batch_write_item", RequestItems={self.table.name: pending})
                pending = resp.get("UnprocessedItems", {}).get(self.table.name, [])

    def list_page(self, month: str, limit: int, start: Mapping[str, str] | None
                  ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of the notices created in `month` (`2026-05`), newest first: their META items (the
        lookup index holds keys only: one BatchGetItem per page, `limit` + 1 entries read)."""
        return self.table.list_page(f"{LIST_PREFIX}{month}", index=GSI_LOOKUP, ascending=False, limit=limit,
                                    start=start, resolve=lambda hits: self.table.get_many(hits, consistent=True))

    def get(self, notice_id: str) -> tuple[Notice, dict[str, Any]]:
        """The notice and its META item. Raises NotFound."""
        item = self.table.get(Keys.notice(notice_id))
        if item is None:
            raise NotFound(f"notice {notice_id!r} not found", details={"id": notice_id})
        return Notice.model_validate(item["notice"]), item

    def recipients(self, notice_id: str) -> list[dict[str, Any]]:
        """Recipient items in userid order: {userid, department, acked_at?}."""
        return list(self.table.query(Keys.notice(notice_id)["pk"], sk_prefix=_RCPT))

    def record_ack(self, notice_id: str, userid: str, at: datetime) -> bool:
        """True when this is the user's first acknowledgement (the counters of the notice and the
        member's department then count it). Raises Forbidden for a non-recipient."""
        try:
            item = self.table.update(Keys.notice_recipient(notice_id, userid),
                                     set_fields={"acked_at": at.astimezone(UTC).isoformat()},
                                     condition="attribute_exists(pk) AND attribute_not_exists(acked_at)")
        except Conflict:
            if self.table.get(Keys.notice_recipient(notice_id, userid)) is None:
                raise Forbidden(f"user {userid!r} is not a recipient of notice {notice_id!r}",
                                details={"userid": userid}) from None
            return False
        self.table.update(Keys.notice(notice_id), add_fields={"acknowledged": 1})
        if isinstance(item, dict) and item.get("partner"):
            self.table.update(_partner_key(notice_id, item["partner"]), add_fields={"acked": 1}, must_exist=False)
            return True
        dept = item.get("department") if isinstance(item, dict) else None
        region = int(item.get("region") or 0) if isinstance(item, dict) else 0
        self.table.update(_dept_key(notice_id, dept), add_fields={"acked": 1}, must_exist=False)
        self.table.update(_region_key(notice_id, region), add_fields={"acked": 1}, must_exist=False)
        return True

    def open_notices(self) -> Iterator[dict[str, Any]]:
        """META items of open notices, earliest deadline first (gsi1 only, never history)."""
        pk = Keys.open_index(KIND, None, "", "")["gsi1pk"]
        yield from self.table.query(pk, index=GSI_OPEN)  # projection ALL: full META items

    def save_followup(self, notice_id: str, state: FollowupState, expected_version: int) -> None:
        """Store the next follow-up state; StaleVersion when another sweep got there first."""
        self.table.update(Keys.notice(notice_id), set_fields={"followup": state.model_dump(mode="json")},
                          expected_version=expected_version)

    def close(self, notice_id: str) -> None:
        self.table.update(Keys.notice(notice_id), remove_fields=["gsi1pk", "gsi1sk"],
                          set_fields={"closed": True})
