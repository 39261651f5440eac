"""The single DynamoDB table: key builders in one place, conditional-write helpers, typed errors.

Layout (one table, entity-prefixed keys):

| entity            | pk                     | sk                        | gsi1 (sparse: open items)                 |
|-------------------|------------------------|---------------------------|-------------------------------------------|
| approval          | APPROVAL#{id}          | META                      | OPEN#APPROVAL / {next_due}#{id}           |
| approval decision | APPROVAL#{id}          | STAGE#{n}#{userid}        |                                           |
| ticket            | TICKET#{id}            | META                      | OPEN#TICKET#{team} / {next_due}#{id}      |
| ticket history    | TICKET#{id}            | HIST#{ts}#{seq}           |                                           |
| ticket dwell      | DWELL#{iso week}       | TICKET#{id}               |                                           |
| notice            | NOTICE#{id}            | META / RCPT#{userid}      | OPEN#NOTICE / {deadline}#{id}             |
| task              | TASK#{id}              | META                      | OPEN#TASK#{group} / {due}#{id}            |
| card task         | CARD#{task_id}         | META                      |                                           |
| callback event    | EVENT#{idem key}       | META  (TTL)               |                                           |
| WeCom token       | TOKEN#{corp}#{agent}   | META                      |                                           |
| directory version | DIRECTORY#version      | META                      |                                           |
| budget period     | BUDGET#{department}    | PERIOD#{period}           |                                           |
| budget use        | BUDGETUSE#{approval}   | META                      |                                           |
| alert             | ALERT#{id}             | META                      |                                           |
| alert dedup       | ALERTKEY#{src}#{key}   | META                      |                                           |
| alert group       | ALERTGROUP#{id}        | META                      | OPEN#ALERT / {notified_at}#{id} (unacked) |
| alert group key   | ALERTGROUPKEY#{route}#{labels} | META              |                                           |
| alert stats       | ALERTSTATS#{month}     | {type}#{ack|resolve}#{group} |                                        |

gsi2 is a lookup by external id (WeCom SpNo, invoice number, chat MsgId, a task's external_id):
gsi2pk = `{kind}#{value}`.
Attribute `expires_at` (epoch seconds) is the TTL attribute. Closed items drop their gsi1 keys, so
digests and sweepers read only open items.

Every write that protects an invariant is conditional; `ConditionalCheckFailedException` becomes
`AlreadyExists` / `StaleVersion` here, never in callers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from wecom_oa.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    StaleVersion,
    UpstreamError,
    UpstreamThrottled,
)

GSI_OPEN = "gsi1"
GSI_LOOKUP = "gsi2"
GSI_LIST = "gsi3"
_BATCH_GET = 100
TTL_ATTRIBUTE = "expires_at"

_ser = TypeSerializer()
_de = TypeDeserializer()
_THROTTLE_CODES = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
}


class Keys:
    """Key builders: the only place key formats are spelled."""

    META = "META"

    @staticmethod
    def approval(approval_id: str) -> dict[str, str]:
        return {"pk": f"APPROVAL#{approval_id}", "sk": Keys.META}

    @staticmethod
    def approval_decision(approval_id: str, stage: int, userid: str) -> dict[str, str]:
        return {"pk": f"APPROVAL#{approval_id}", "sk": f"STAGE#{stage:02d}#{userid}"}

    @staticmethod
    def ticket(ticket_id: str) -> dict[str, str]:
        return {"pk": f"TICKET#{ticket_id}", "sk": Keys.META}

    @staticmethod
    def ticket_dwell(week: str, ticket_id: str) -> dict[str, str]:
        """A resolved ticket's time per stage and team, in the ISO week it was resolved (2026-W10)."""
        return {"pk": f"DWELL#{week}", "sk": f"TICKET#{ticket_id}"}

    @staticmethod
    def ticket_history(ticket_id: str, at_iso: str, seq: int) -> dict[str, str]:
        return {"pk": f"TICKET#{ticket_id}", "sk": f"HIST#{at_iso}#{seq:06d}"}

    @staticmethod
    def notice(notice_id: str) -> dict[str, str]:
        return {"pk": f"NOTICE#{notice_id}", "sk": Keys.META}

    @staticmethod
    def notice_recipient(notice_id: str, userid: str) -> dict[str, str]:
        return {"pk": f"NOTICE#{notice_id}", "sk": f"RCPT#{userid}"}

    @staticmethod
    def task(task_id: str) -> dict[str, str]:
        """A to-do (待办) of the tasks API; not to be confused with `card_task` (a WeCom card)."""
        return {"pk": f"TASK#{task_id}", "sk": Keys.META}

    @staticmethod
    def card_task(task_id: str) -> dict[str, str]:
        return {"pk": f"CARD#{task_id}", "sk": Keys.META}

    @staticmethod
    def followup(userid: str) -> dict[str, str]:
        return {"pk": f"FOLLOWUP#{userid}", "sk": Keys.META}

    @staticmethod
    def callback_event(idempotency_key: str) -> dict[str, str]:
        return {"pk": f"EVENT#{idempotency_key}", "sk": Keys.META}

    @staticmethod
    def token(corp_id: str, agent: str) -> dict[str, str]:
        return {"pk": f"TOKEN#{corp_id}#{agent}", "sk": Keys.META}

    @staticmethod
    def directory_version() -> dict[str, str]:
        """The one item every container's directory cache compares its version with."""
        return {"pk": "DIRECTORY#version", "sk": Keys.META}

    @staticmethod
    def budget_period(department_id: int, period: str) -> dict[str, str]:
        return {"pk": f"BUDGET#{department_id}", "sk": f"PERIOD#{period}"}

    @staticmethod
    def leave_booking(userid: str, start: str, approval_id: str) -> dict[str, str]:
        """An approved leave of our own channel, in the applicant's ledger (sorted by first day)."""
        return {"pk": f"LEAVE#{userid}", "sk": f"{start}#{approval_id}"}

    @staticmethod
    def report_tracking(userid: str) -> dict[str, str]:
        """When missing-report tracking started for a member, and the streak last told about."""
        return {"pk": "REPORTTRACK", "sk": userid}

    @staticmethod
    def budget_use(approval_id: str) -> dict[str, str]:
        return {"pk": f"BUDGETUSE#{approval_id}", "sk": Keys.META}

    @staticmethod
    def send_ledger(app: str, userid: str, hour: datetime) -> dict[str, str]:
        """One member's send counters for one UTC hour (`hour` is the hour's start, UTC)."""
        return {"pk": f"SENDLEDGER#{app}#{userid}", "sk": f"H#{hour:%Y%m%dT%H}"}

    @staticmethod
    def pending_send(pending_id: str) -> dict[str, str]:
        """A send deferred by the send ledger, until every recipient has been sent to."""
        return {"pk": f"PENDINGSEND#{pending_id}", "sk": Keys.META}

    @staticmethod
    def parked_send_index(parked_at_iso: str = "", pending_id: str = "") -> dict[str, str]:
        """One entry per parked send (the operator's list), oldest first."""
        return {"pk": "PARKEDSENDS", "sk": f"{parked_at_iso}#{pending_id}" if pending_id else ""}

    @staticmethod
    def open_index(kind: str, group: str | None, due_iso: str, item_id: str) -> dict[str, str]:
        """gsi1 keys for an open item; remove them (`REMOVE gsi1pk, gsi1sk`) when it closes."""
        pk = f"OPEN#{kind}" if group is None else f"OPEN#{kind}#{group}"
        return {"gsi1pk": pk, "gsi1sk": f"{due_iso}#{item_id}"}

    @staticmethod
    def alert(alert_id: str) -> dict[str, str]:
        return {"pk": f"ALERT#{alert_id}", "sk": Keys.META}

    @staticmethod
    def alert_dedup(source: str, dedup_key: str) -> dict[str, str]:
        """The open alert of (source, dedup_key): repeats update it."""
        return {"pk": f"ALERTKEY#{source}#{dedup_key}", "sk": Keys.META}

    @staticmethod
    def alert_group(group_id: str) -> dict[str, str]:
        return {"pk": f"ALERTGROUP#{group_id}", "sk": Keys.META}

    @staticmethod
    def alert_group_key(route: str, values: str) -> dict[str, str]:
        """The open incident of a route's group_by values: new alerts join it."""
        return {"pk": f"ALERTGROUPKEY#{route}#{values}", "sk": Keys.META}

    @staticmethod
    def alert_inhibitor(rule: int, values: str) -> dict[str, str]:
        return {"pk": f"ALERTINHIBIT#{rule}#{values}", "sk": Keys.META}

    @staticmethod
    def alert_stat(month: str, type_: str, kind: str, group_id: str) -> dict[str, str]:
        """One time-to-acknowledge or time-to-resolve sample, in its month's partition."""
        return {"pk": f"ALERTSTATS#{month}", "sk": f"{type_}#{kind}#{group_id}"}

    @staticmethod
    def lookup(kind: str, value: str) -> dict[str, str]:
        return {"gsi2pk": f"{kind}#{value}", "gsi2sk": Keys.META}


def key_names(index: str | None) -> tuple[str, str]:
    """(partition, sort) key attribute names of the table (None) or of one of its indexes."""
    return ("pk", "sk") if index is None else (f"{index}pk", f"{index}sk")


def to_dynamo(value: Any) -> Any:
    """Python → DynamoDB attribute value (floats become Decimal: DynamoDB has no float).

    A number DynamoDB cannot hold (more than 38 digits, magnitude from 1E+126, infinity) raises
    `InvalidInput` before anything is written: the API bounds its inputs, this names what slipped by."""
    try:
        return _ser.serialize(_decimalize(value))
    except ArithmeticError as exc:  # decimal's Rounded / Inexact / Overflow under DynamoDB's context
        raise InvalidInput(f"a number cannot be stored: {type(exc).__name__} (at most 38 digits, magnitude "
                           "below 1E+126, finite)") from None


def _decimalize(value: Any) -> Any:
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"a number cannot be stored: {value} (at most 38 digits, magnitude below 1E+126, "
                               "finite)")
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _decimalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decimalize(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return {_plain(v) for v in value}
    return value


def from_dynamo(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}


def _serialize_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: to_dynamo(v) for k, v in item.items() if v is not None}


class DynamoTable:
    """Thin, typed wrapper around one table. The boto3 client is created lazily (no import-time I/O)."""

    def __init__(self, name: str, client: Any = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("dynamodb")
        return self._client

    # -- reads -------------------------------------------------------------------------------
    def get(self, key: Mapping[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        resp = self._call("get_item", TableName=self.name, Key=_serialize_item(key), ConsistentRead=consistent)
        item = resp.get("Item")
        return from_dynamo(item) if item else None

    def query(
        self,
        pk_value: str,
        *,
        sk_prefix: str | None = None,
        index: str | None = None,
        ascending: bool = True,
        limit: int | None = None,
        sk_between: tuple[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Yields items of one partition (of the table or of `index`), following pagination."""
        pk_name, sk_name = ("pk", "sk") if index is None else (f"{index}pk", f"{index}sk")
        expr = "#pk = :pk"
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": to_dynamo(pk_value)}
        if sk_prefix is not None:
            expr += " AND begins_with(#sk, :skp)"
            names["#sk"] = sk_name
            values[":skp"] = to_dynamo(sk_prefix)
        elif sk_between is not None:
            expr += " AND #sk BETWEEN :lo AND :hi"
            names["#sk"] = sk_name
            values[":lo"], values[":hi"] = to_dynamo(sk_between[0]), to_dynamo(sk_between[1])
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": expr,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ScanIndexForward": ascending,
        }
        if index:
            kwargs["IndexName"] = index
        returned = 0
        while True:
            if limit is not None:
                kwargs["Limit"] = limit - returned
            resp = self._call("query", **kwargs)
            for raw in resp.get("Items", []):
                returned += 1
                yield from_dynamo(raw)
            if "LastEvaluatedKey" not in resp or (limit is not None and returned >= limit):
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def query_page(self, pk_value: str, *, index: str | None = None, ascending: bool = True, limit: int,
                   start: Mapping[str, str] | None = None, sk_between: tuple[str, str] | None = None,
                   ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of a partition: up to `limit` items after `start` (a key this method returned),
        and the key to continue from (None at the end). Reads are proportional to the page.
        `sk_between`: only sort keys from `lo` to `hi` (both inclusive)."""
        pk_name, sk_name = key_names(index)
        kwargs: dict[str, Any] = {
            "TableName": self.name, "KeyConditionExpression": "#pk = :pk", "ExpressionAttributeNames": {"#pk": pk_name},
            "ExpressionAttributeValues": {":pk": to_dynamo(pk_value)}, "ScanIndexForward": ascending, "Limit": limit,
        }
        if sk_between is not None:
            kwargs["KeyConditionExpression"] += " AND #sk BETWEEN :lo AND :hi"
            kwargs["ExpressionAttributeNames"]["#sk"] = sk_name
            kwargs["ExpressionAttributeValues"].update({":lo": to_dynamo(sk_between[0]), ":hi": to_dynamo(sk_between[1])})
        if index:
            kwargs["IndexName"] = index
        if start:
            kwargs["ExclusiveStartKey"] = {k: {"S": str(v)} for k, v in start.items()}
        resp = self._call("query", **kwargs)
        last = resp.get("LastEvaluatedKey")
        return [from_dynamo(raw) for raw in resp.get("Items", [])], ({k: v["S"] for k, v in last.items()} if last else None)

    def list_page(self, pk_value: str, *, index: str | None, ascending: bool, limit: int,
                  start: Mapping[str, str] | None = None, sk_between: tuple[str, str] | None = None,
                  resolve: Callable[[list[dict[str, Any]]], list[dict[str, Any] | None]] | None = None,
                  keep: Callable[[Mapping[str, Any]], bool] | None = None, max_reads: int | None = None,
                  ) -> tuple[list[dict[str, Any]], dict[str, str] | None]:
        """One page of a list answer (keyset pagination): up to `limit` items of a partition after
        `start`, and the key to continue from (None: nothing follows).

        `resolve` turns index hits into the items to answer (e.g. `get_many` over a keys-only
        index; None drops a hit); `keep` is a further filter on them. Reads are bounded by the page:
        at most `max_reads` index entries (default `limit + 1`, the extra one telling whether more
        follow), so a filter that drops many items answers a shorter page with a cursor rather
        than reading on. `start` must be a key of this partition within `sk_between` (a cursor
        this method made): anything else is `InvalidInput` naming `cursor`."""
        pk_name, sk_name = key_names(index)
        if start is not None:
            expected = {"pk", "sk", pk_name, sk_name}
            in_range = sk_between is None or sk_between[0] <= start.get(sk_name, "") <= sk_between[1]
            if set(start) != expected or start.get(pk_name) != pk_value or not in_range:
                from wecom_oa.paging import bad_cursor

                raise bad_cursor()
        budget = max_reads if max_reads is not None else limit + 1
        found: list[tuple[dict[str, Any], dict[str, str]]] = []
        key, read = (dict(start) if start else None), 0
        while len(found) <= limit and read < budget:
            # A page's worth at a time: a filter that keeps few reads on in a few Queries, not one
            # per missing item; what is read past the page's last item is read again by the next.
            hits, key = self.query_page(pk_value, index=index, ascending=ascending, start=key, sk_between=sk_between,
                                        limit=min(limit + 1, budget - read))
            read += len(hits)
            items = resolve(hits) if resolve is not None and hits else hits
            for hit, item in zip(hits, items, strict=True):
                if item is not None and (keep is None or keep(item)):
                    found.append((item, {k: str(hit[k]) for k in ("pk", "sk", pk_name, sk_name)}))
            if key is None:
                break
        if len(found) > limit:  # more follow: continue after the last item shown
            found, key = found[:limit], found[limit - 1][1]
        return [item for item, _ in found], key

    def get_many(self, keys: Sequence[Mapping[str, str]], *, consistent: bool = False) -> list[dict[str, Any] | None]:
        """The items of `keys` in their order (None for a missing one), by BatchGetItem in chunks of
        100, unprocessed keys sent again until answered."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        unique = list(dict.fromkeys((str(k["pk"]), str(k["sk"])) for k in keys))
        for at in range(0, len(unique), _BATCH_GET):
            pending: dict[str, Any] = {self.name: {"Keys": [{"pk": {"S": pk}, "sk": {"S": sk}}
                                                           for pk, sk in unique[at:at + _BATCH_GET]],
                                                  "ConsistentRead": consistent}}
            while pending:
                resp = self._call("batch_get_item", RequestItems=pending)
                for raw in resp.get("Responses", {}).get(self.name, []):
                    item = from_dynamo(raw)
                    found[(item["pk"], item["sk"])] = item
                pending = resp.get("UnprocessedKeys") or {}
        return [found.get((str(k["pk"]), str(k["sk"]))) for k in keys]

    # -- writes ------------------------------------------------------------------------------
    def put(self, item: Mapping[str, Any]) -> None:
        self._call("put_item", TableName=self.name, Item=_serialize_item(item))

    def put_new(self, item: Mapping[str, Any]) -> None:
        """Create; raise `AlreadyExists` if an item with the same key is there."""
        try:
            self._call(
                "put_item",
                TableName=self.name,
                Item=_serialize_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except _ConditionFailed:
            raise AlreadyExists(f"{item['pk']} already exists") from None

    def update(
        self,
        key: Mapping[str, str],
        *,
        set_fields: Mapping[str | tuple[str, ...], Any] | None = None,
        remove_fields: Sequence[str | tuple[str, ...]] = (),
        add_fields: Mapping[str, int | float] | None = None,
        expected_version: int | None = None,
        condition: str | None = None,
        condition_values: Mapping[str, Any] | None = None,
        condition_names: Mapping[str, str] | None = None,
        must_exist: bool = True,
    ) -> dict[str, Any]:
        """Update and return the new item.

        With `expected_version`, the write succeeds only if the stored `version` equals it and
        bumps `version` by one; otherwise `StaleVersion`. A failed extra `condition` (placeholders
        from `condition_values` / `condition_names`) raises `Conflict`.
        """
        kwargs = self.update_request(key, set_fields=set_fields, remove_fields=remove_fields, add_fields=add_fields,
                                     expected_version=expected_version, condition=condition,
                                     condition_values=condition_values, condition_names=condition_names,
                                     must_exist=must_exist)
        try:
            resp = self._call("update_item", TableName=self.name, ReturnValues="ALL_NEW", **kwargs)
        except _ConditionFailed:
            if expected_version is not None:
                raise StaleVersion(f"{key['pk']} changed since version {expected_version}") from None
            raise Conflict(f"{key['pk']} is not in the expected state") from None
        return from_dynamo(resp["Attributes"])

    @staticmethod
    def update_request(
        key: Mapping[str, str],
        *,
        set_fields: Mapping[str | tuple[str, ...], Any] | None = None,
        remove_fields: Sequence[str | tuple[str, ...]] = (),
        add_fields: Mapping[str, int | float] | None = None,
        expected_version: int | None = None,
        condition: str | None = None,
        condition_values: Mapping[str, Any] | None = None,
        condition_names: Mapping[str, str] | None = None,
        must_exist: bool = True,
    ) -> dict[str, Any]:
        """The UpdateItem parameters `update` sends (without TableName and ReturnValues), e.g. for
        a `transact` operation `{"update": request}`."""
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        sets: list[str] = []
        for i, (field, value) in enumerate((set_fields or {}).items()):
            values[f":s{i}"] = to_dynamo(value)
            sets.append(f"{_path(field, f's{i}', names)} = :s{i}")
        conditions: list[str] = []
        if must_exist:
            conditions.append("attribute_exists(pk)")
        if expected_version is not None:
            names["#ver"] = "version"
            values[":ver"] = to_dynamo(expected_version)
            values[":one"] = to_dynamo(1)
            sets.append("#ver = :ver + :one")
            conditions.append("#ver = :ver")
        if condition:
            conditions.append(f"({condition})")
            values.update({k: to_dynamo(v) for k, v in (condition_values or {}).items()})
            names.update(condition_names or {})
        parts = []
        if sets:
            parts.append("SET " + ", ".join(sets))
        if add_fields:
            adds = []
            for i, (field, value) in enumerate(add_fields.items()):
                names[f"#a{i}"] = field
                values[f":a{i}"] = to_dynamo(value)
                adds.append(f"#a{i} :a{i}")
            parts.append("ADD " + ", ".join(adds))
        if remove_fields:
            removes = []
            for i, field in enumerate(remove_fields):
                removes.append(_path(field, f"r{i}", names))
            parts.append("REMOVE " + ", ".join(removes))
        kwargs: dict[str, Any] = {"Key": _serialize_item(key), "UpdateExpression": " ".join(parts)}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        if values:
            kwargs["ExpressionAttributeValues"] = values
        if conditions:
            kwargs["ConditionExpression"] = " AND ".join(conditions)
        return kwargs

    def delete(self, key: Mapping[str, str]) -> None:
        self._call("delete_item", TableName=self.name, Key=_serialize_item(key))

    def transact(self, operations: Sequence[Mapping[str, Any]]) -> None:
        """All-or-nothing write. Each operation is `{"put": item, "condition": expr?}`,
        `{"update": {...update_item kwargs without TableName}}` or `{"check": {...}}`.
        A failed condition raises `Conflict` naming the failing operation's key."""
        items = []
        for op in operations:
            if "put" in op:
                body: dict[str, Any] = {"TableName": self.name, "Item": _serialize_item(op["put"])}
                if op.get("condition"):
                    body["ConditionExpression"] = op["condition"]
                items.append({"Put": body})
            elif "update" in op:
                items.append({"Update": {"TableName": self.name, **op["update"]}})
            elif "check" in op:
                items.append({"ConditionCheck": {"TableName": self.name, **op["check"]}})
            else:
                raise ValueError(f"unknown transact operation {sorted(op)}")
        try:
            self._call("transact_write_items", TransactItems=items)
        except _TransactionCanceled as exc:
            failed = [
                i for i, r in enumerate(exc.reasons) if r.get("Code") not in (None, "None")
            ]
            raise Conflict("transaction cancelled by a failed condition", details={"operations": failed}) from None

    # -- plumbing ----------------------------------------------------------------------------
    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ConditionalCheckFailedException":
                raise _ConditionFailed() from None
            if code == "TransactionCanceledException":
                raise _TransactionCanceled(exc.response.get("CancellationReasons", [])) from None
            if code in _THROTTLE_CODES:
                raise UpstreamThrottled(f"DynamoDB {operation} throttled ({code})") from None
            raise UpstreamError(f"DynamoDB {operation} failed ({code})") from None


def _path(field: str | tuple[str, ...], tag: str, names: dict[str, str]) -> str:
    """Attribute path with a name placeholder per segment; a tuple is a nested map path (map keys
    such as WeCom userids may contain dots, so strings are never split)."""
    segments = (field,) if isinstance(field, str) else field
    parts = []
    for j, segment in enumerate(segments):
        names[f"#{tag}_{j}"] = segment
        parts.append(f"#{tag}_{j}")
    return ".".join(parts)


class _ConditionFailed(Exception):
    pass


class _TransactionCanceled(Exception):
    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        super().__init__("transaction cancelled")
        self.reasons = reasons


_tables: dict[str, DynamoTable] = {}


def app_table() -> DynamoTable:
    """The application table named by settings (cached per container)."""
    from wecom_oa.settings import get_settings

    name = get_settings().table_name
    if name not in _tables:
        _tables[name] = DynamoTable(name)
    return _tables[name]


def reset_tables() -> None:
    _tables.clear()
