"""`GET /approvals`: approvals by applicant, approver, status, type and creation time, newest
first, a page at a time (`wecom_oa.paging`).

Which index a list reads is chosen by its most selective filter: `applicant` (gsi2, the applicant's
approvals), else `approver` (gsi3 approver entries), else `status` (`pending`: the open index gsi1;
any other: gsi3 by status), else `type` (gsi3 by type), else every approval (gsi3 `ALL`).
`since` / `until` bound the index's sort key (creation time), so a time range reads only its own
entries. The other filters are checked on the approvals a page read: such a page reads at most
`FILTERED_READS_PER_ITEM` × `limit` entries and may hold fewer than `limit` approvals (even none)
with a `next_cursor`, rather than reading on through the partition; without one a page reads
`limit` + 1 entries. Either way the reads of a page are bounded by its size, never by history.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from wecom_oa.approvals.store import APPLICANT_KIND, OPEN_KIND, approvers_of, list_partition
from wecom_oa.aws.dynamo import GSI_LIST, GSI_LOOKUP, GSI_OPEN, Keys
from wecom_oa.errors import InvalidInput
from wecom_oa.paging import decode_cursor, encode_cursor

FILTERED_READS_PER_ITEM = 4
_FIRST, _LAST = "0000", "9999"  # below and above every sort key (they start with the year)


def _bound(when: datetime | None, default: str) -> str:
    """A sort-key bound for `when`, in the form sort keys store it (UTC `isoformat`)."""
    return default if when is None else when.astimezone(UTC).isoformat()


def list_approvals(*, applicant: str | None = None, approver: str | None = None, status: str | None = None,
                   approval_type: str | None = None, since: datetime | None = None, until: datetime | None = None,
                   limit: int, cursor: str | None = None) -> dict[str, Any]:
    """One page of approvals matching every filter given, newest first, with `next_cursor`
    (None: the list ends here). `since` is inclusive, `until` exclusive."""
    from wecom_oa.approvals.service import repo, summary

    if since is not None and until is not None and until <= since:
        raise InvalidInput("until: must be later than since",
                           details=[{"field": "until", "problem": "must be later than since"}])
    if applicant:
        index, partition = GSI_LOOKUP, f"{APPLICANT_KIND}#{applicant}"
    elif approver:
        index, partition = GSI_LIST, list_partition("APPROVER", approver)
    elif status == "pending":
        index, partition = GSI_OPEN, Keys.open_index(OPEN_KIND, None, "", "")["gsi1pk"]
    elif status:
        index, partition = GSI_LIST, list_partition("STATUS", status)
    elif approval_type:
        index, partition = GSI_LIST, list_partition("TYPE", approval_type)
    else:
        index, partition = GSI_LIST, list_partition("ALL")
    # Checked on every approval read, the index's own filter too: an index is eventually
    # consistent, so an approval that just moved on is left out rather than shown under the old one.
    checks = {"applicant": applicant, "status": status, "type": approval_type}
    wanted = {k: v for k, v in checks.items() if v}

    def keep(item: Mapping[str, Any]) -> bool:
        return (all(item.get(k) == v for k, v in wanted.items())
                and (not approver or approver in approvers_of(item)))

    # Filters the index does not answer by itself make a page read more than it shows.
    secondary = len(wanted) + bool(approver) - 1
    max_reads = limit + 1 if secondary <= 0 else FILTERED_READS_PER_ITEM * limit + 1
    sk_between = (_bound(since, _FIRST), _bound(until, _LAST)) if since or until else None
    scope = "|".join(["approvals", applicant or "", approver or "", status or "", approval_type or "",
                      _bound(since, ""), _bound(until, "")])
    items, last = repo().list_page(partition, index=index, limit=limit, start=decode_cursor(cursor, partition, scope),
                                   sk_between=sk_between, keep=keep, max_reads=max_reads)
    filters = {"applicant": applicant, "approver": approver, "status": status, "type": approval_type,
               "since": since, "until": until}
    return {**{k: v for k, v in filters.items() if v is not None}, "approvals": [summary(a) for a in items],
            "count": len(items), "next_cursor": encode_cursor(last, scope)}
