"""Pagination of every list answer of the HTTP API, in one place: the page size a caller may ask
for, the opaque cursor and its check.

A cursor is the index key of the last item a page showed (keyset pagination: the next page is one
Query that starts after it, so a page reads about what it shows however long the list), plus a tag
of the query it belongs to (the list's partition and filters). It is base64url JSON, opaque to
callers: they pass `next_cursor` back as it is. A cursor of another list, of the same list with
other filters, or no cursor of ours at all answers 400 `invalid_input` naming `cursor`; a limit
outside 1..`PAGE_LIMIT_MAX` answers 400 naming `limit` (the routes' `PageLimit`).

Kept free of boto3 and pydantic models: routers import it at cold start.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from wecom_oa.errors import InvalidInput

PAGE_LIMIT_DEFAULT = 20
PAGE_LIMIT_MAX = 100
_TAG = "~q"  # the cursor's entry naming the query it belongs to (no index key is called that)

PageLimit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX,
                                 description=f"items per page, 1 to {PAGE_LIMIT_MAX} (default {PAGE_LIMIT_DEFAULT})")]
PageCursor = Annotated[str | None, Query(max_length=1000,
                                         description="`next_cursor` of the previous page, as it was")]


def bad_cursor() -> InvalidInput:
    """The one answer to a cursor that is not the `next_cursor` of this very list."""
    return InvalidInput("cursor: not a cursor of this list (pass next_cursor of the previous page as it is)",
                        details=[{"field": "cursor", "problem": "not a cursor of this list"}])


def _tag(scope: str) -> str:
    return hashlib.sha256(scope.encode("utf-8")).hexdigest()[:16]


def pack(payload: Mapping[str, str], scope: str = "") -> str:
    """The opaque text of a cursor holding `payload` (string values) for the query `scope`."""
    data = {**payload, _TAG: _tag(scope)}
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode()


def unpack(cursor: str, scope: str = "") -> dict[str, str]:
    """The payload `pack` made for `scope`; `bad_cursor()` for anything else."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        raise bad_cursor() from None
    if not (isinstance(data, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in data.items())
            and data.pop(_TAG, None) == _tag(scope)):
        raise bad_cursor()
    return data


def encode_cursor(key: Mapping[str, str] | None, scope: str = "") -> str | None:
    """The opaque cursor of a page that ends at index key `key` (None: no more pages). `scope`
    names the query (partition and filters) so the cursor is refused by any other."""
    return pack(key, scope) if key else None


def decode_cursor(cursor: str | None, partition: str, scope: str = "") -> dict[str, str] | None:
    """The key `encode_cursor` made for a page of `partition` under `scope`; None for no cursor;
    `bad_cursor()` for anything else."""
    if not cursor:
        return None
    key = unpack(cursor, scope)
    if partition not in key.values():
        raise bad_cursor()
    return key
