"""The HTTP API's envelope: input limits, the body deserializer the resolver uses, the JSON
serializer (every timestamp in the company's offset) and /health. Each feature's routes are a
powertools `Router` in its own `api.py` (`wecom_oa.routes` lists them); bodies and query strings
are validated by powertools from the pydantic models in the signatures, and errors are mapped once
in `wecom_oa.http`; list answers page with `wecom_oa.paging`.

Bounded input: every limit on what a caller may send is listed in `LIMITS` below (the envelope's
are enforced here, before and while the body is parsed; the others where their field is
validated). A body over `MAX_BODY_BYTES` answers 413 `payload_too_large` before it is decoded; any
other limit answers 400 `limit_exceeded` naming the limit and where the body broke it. The body's
nesting and number lengths are checked by a scan of the text before `json.loads` runs, so neither a
deep nesting (RecursionError) nor a 5000-digit number (int conversion limit) reaches the parser.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from wecom_oa.approvals import limits as form_limits
from wecom_oa.clock import company_iso, company_times
from wecom_oa.errors import InputLimitExceeded, InvalidInput, PayloadTooLarge
from wecom_oa.validation import clip, where

# -- input limits ---------------------------------------------------------------------------------
# API Gateway takes 10 MB and Lambda 6 MB, but what a body carries ends up in DynamoDB items
# (400 KB), Step Functions inputs and EventBridge events (256 KB): a request stays well below.
MAX_BODY_BYTES = 256 * 1024
MAX_DEPTH = 32  # nested objects/arrays; DynamoDB stores at most 32 levels
MAX_NUMBER_CHARS = 40  # characters of one number literal (sign excluded); money is 14 digits
# What a DynamoDB number holds: 38 digits, magnitude below 1E+126 (and 0 or above 1E-130).
MAX_NUMBER_DIGITS = 38
MAX_NUMBER_MAGNITUDE = 10 ** 126
MIN_NUMBER_MAGNITUDE = 1e-130
MAX_STRING_CHARS = 20_000  # one string value, decoded (ticket text fields allow up to 20 000)
MAX_KEY_CHARS = 128  # one object key
MAX_OBJECT_KEYS = 100  # keys of one object
MAX_ARRAY_ITEMS = 1000  # items of one array (WeCom's touser maximum; /reports takes 1000)
# Recipients of one request, as WeCom's message/send takes them (notices/service.py, people.py).
MAX_USERIDS = 1000
MAX_PARTIES = 100
MAX_TAGS = 100

LIMITS: dict[str, int] = {
    "max_body_bytes": MAX_BODY_BYTES, "max_depth": MAX_DEPTH, "max_number_chars": MAX_NUMBER_CHARS,
    "max_number_digits": MAX_NUMBER_DIGITS,
    "max_string_chars": MAX_STRING_CHARS, "max_key_chars": MAX_KEY_CHARS, "max_object_keys": MAX_OBJECT_KEYS,
    "max_array_items": MAX_ARRAY_ITEMS, "max_userids": MAX_USERIDS, "max_parties": MAX_PARTIES,
    "max_tags": MAX_TAGS,
    # Approval forms (approvals/rules.py `check_form_bounds`): the rule set's declared fields, plus
    # at most FORM_MAX_EXTRA_KEYS others with short names and small values.
    "form_max_bytes": form_limits.FORM_MAX_BYTES, "form_max_depth": form_limits.FORM_MAX_DEPTH,
    "form_max_extra_keys": form_limits.FORM_MAX_EXTRA_KEYS, "form_max_extra_key_chars": form_limits.FORM_MAX_EXTRA_KEY_CHARS,
    "form_max_extra_value_bytes": form_limits.FORM_MAX_EXTRA_VALUE_BYTES, "form_max_list_items": form_limits.FORM_MAX_LIST_ITEMS,
}

# Outside strings: a bracket, or a number literal longer than the limit. Strings are matched (and
# skipped) whole, so brackets and digits inside them do not count; an unterminated string runs to
# the end. Every match is one step of a flat loop: nothing here recurses.
_SCAN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[{]|[\]}]|\d[-+\d.eE]{' + str(MAX_NUMBER_CHARS) + ",}", re.DOTALL)


def _exceeded(limit: str, message: str, at: str) -> InputLimitExceeded:
    return InputLimitExceeded(message, details={"limit": limit, "max": LIMITS[limit], "where": at})


def _position(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - text.rfind("\n", 0, offset)
    return f"line {line}, column {column}"


def check_body_size(size: int) -> None:
    if size > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"request body is {size} bytes; the limit is {MAX_BODY_BYTES} bytes (max_body_bytes)",
                              details={"limit": "max_body_bytes", "max": MAX_BODY_BYTES})


def scan_json_text(text: str) -> None:
    """Reject nesting deeper than MAX_DEPTH and numbers longer than MAX_NUMBER_CHARS in JSON text,
    without parsing it (linear, iterative). Malformed text is left for the parser to name."""
    depth = 0
    for match in _SCAN.finditer(text):
        token = match.group()
        first = token[0]
        if first == '"':
            continue
        if first in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                at = _position(text, match.start())
                raise _exceeded("max_depth", f"request body nests deeper than {MAX_DEPTH} levels (max_depth) at {at}", at)
        elif first in "]}":
            depth -= 1
        else:
            at = _position(text, match.start())
            raise _exceeded("max_number_chars", f"request body has a number of {len(token)} characters at {at}; "
                            f"the limit is {MAX_NUMBER_CHARS} (max_number_chars)", at)


def _not_a_number(name: str) -> Any:
    raise InvalidInput(f"request body is not valid JSON: {name} is not a JSON number",
                       details=[{"field": "(body)", "problem": f"{name} is not JSON"}])


def _storable_int(literal: str) -> int:
    """A JSON integer DynamoDB can store exactly (a 39-digit integer cannot be kept)."""
    digits = len(literal.lstrip("-"))
    if digits > MAX_NUMBER_DIGITS:
        raise _exceeded("max_number_digits", f"request body has an integer of {digits} digits "
                        f"({clip(literal)}); the limit is {MAX_NUMBER_DIGITS} (max_number_digits)", "(body)")
    return int(literal)


def _storable_float(literal: str) -> float:
    """A JSON fraction or exponent number within what DynamoDB stores (1e300 is not)."""
    value = float(literal)
    size = abs(value)
    if size >= MAX_NUMBER_MAGNITUDE or 0 < size < MIN_NUMBER_MAGNITUDE:  # NaN/Infinity: parse_constant
        raise _exceeded("max_number_digits", f"request body has the number {clip(literal)}, outside what can be "
                        "stored (magnitude from 1e-130 to below 1e126, at most "
                        f"{MAX_NUMBER_DIGITS} significant digits; max_number_digits)", "(body)")
    return value


def check_shape(value: Any) -> None:
    """Strings, keys, objects and arrays of a parsed body within their limits (iterative walk)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if len(node) > MAX_STRING_CHARS:
                at = where(path)
                raise _exceeded("max_string_chars", f"{at}: string of {len(node)} characters; the limit is "
                                f"{MAX_STRING_CHARS} (max_string_chars)", at)
        elif isinstance(node, dict):
            if len(node) > MAX_OBJECT_KEYS:
                at = where(path)
                raise _exceeded("max_object_keys", f"{at}: object with {len(node)} keys; the limit is "
                                f"{MAX_OBJECT_KEYS} (max_object_keys)", at)
            for key, item in node.items():
                if len(key) > MAX_KEY_CHARS:
                    at = where(path)
                    raise _exceeded("max_key_chars", f"{at}: key {clip(key)!r} has {len(key)} characters; the "
                                    f"limit is {MAX_KEY_CHARS} (max_key_chars)", at)
                stack.append((item, (*path, key)))
        elif isinstance(node, list):
            if len(node) > MAX_ARRAY_ITEMS:
                at = where(path)
                raise _exceeded("max_array_items", f"{at}: array of {len(node)} items; the limit is "
                                f"{MAX_ARRAY_ITEMS} (max_array_items)", at)
            stack.extend((item, (*path, i)) for i, item in enumerate(node))


def parse_body(text: str) -> Any:
    """JSON text → value within every envelope limit. Raises PayloadTooLarge (413),
    InputLimitExceeded or InvalidInput (400) naming the limit or the syntax error."""
    if len(text) * 4 > MAX_BODY_BYTES:  # else certainly small enough: UTF-8 takes at most 4 bytes a character
        check_body_size(len(text.encode("utf-8", "surrogatepass")))
    scan_json_text(text)
    try:
        value = json.loads(text, parse_constant=_not_a_number, parse_int=_storable_int,
                           parse_float=_storable_float)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"request body is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
    check_shape(value)
    return value

def json_body(text: str | None) -> Any:
    """The resolver's body deserializer (`json_body_deserializer`): `parse_body` for a body, None
    for an empty one (a route that requires a body then answers 400 naming it as missing)."""
    if text is None or not text.strip():
        return None
    return parse_body(text)


def check_event_body(event: dict[str, Any]) -> None:
    """PayloadTooLarge for a Lambda proxy event whose body is over MAX_BODY_BYTES, before anything
    decodes it (base64 takes 4 characters per 3 bytes)."""
    raw = event.get("body")
    if raw:
        check_body_size(len(raw) * 3 // 4 - raw[-2:].count("=") if event.get("isBase64Encoded") else len(raw))


def _default(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return company_iso(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    """An answer as JSON text (the resolver's serializer): every timestamp in it, stored in UTC or
    sent with any offset, is rendered once here in the company's offset (`clock.company_times`)."""
    return json.dumps(company_times(value), ensure_ascii=False, default=_default)


def health() -> dict[str, Any]:
    """Liveness plus one cheap read of the table, so 'up' means the data store answers."""
    from wecom_oa.aws.dynamo import app_table
    from wecom_oa.clock import get_clock
    from wecom_oa.settings import get_settings

    app_table().get({"pk": "HEALTH", "sk": "META"}, consistent=False)
    return {"status": "ok", "service": "wecom-oa", "time": company_iso(get_clock().now()),
            "local_mode": get_settings().local_mode}
