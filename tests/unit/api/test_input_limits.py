"""Every envelope limit of the HTTP API (`services.api.LIMITS`) answers 400 `limit_exceeded` (413 for
the body size) with a message naming the limit and where, and is checked before `json.loads`
could fail on it (no RecursionError, no int-conversion ValueError)."""

from __future__ import annotations

import base64
import json

import pytest

from wecom_oa import api
from wecom_oa.api import (
    MAX_ARRAY_ITEMS,
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_KEY_CHARS,
    MAX_NUMBER_CHARS,
    MAX_NUMBER_DIGITS,
    MAX_OBJECT_KEYS,
    MAX_STRING_CHARS,
)
from wecom_oa.aws.dynamo import to_dynamo
from wecom_oa.errors import InputLimitExceeded, InvalidInput, PayloadTooLarge
from wecom_oa.http import error_response


def _refused(text: str) -> InvalidInput | PayloadTooLarge:
    with pytest.raises((InvalidInput, PayloadTooLarge)) as caught:
        api.json_body(text)
    return caught.value


@pytest.mark.parametrize(("text", "limit", "named"), [
    ("[" * 5000 + "]" * 5000, "max_depth", f"nests deeper than {MAX_DEPTH} levels"),
    ('{"form": ' + '{"a": ' * 200 + "1" + "}" * 201, "max_depth", "line 1, column"),
    ('{"amount": ' + "9" * 5000 + "}", "max_number_chars", f"the limit is {MAX_NUMBER_CHARS}"),
    ('{"amount": 1.' + "5" * 5000 + "}", "max_number_chars", "number of 5002 characters"),
    ('{"amount": 1e' + "9" * 80 + "}", "max_number_chars", "max_number_chars"),
    # Short enough to read, too long or too large to store: DynamoDB keeps 38 digits below 1E+126.
    ('{"extra": ' + "9" * 39 + "}", "max_number_digits", "an integer of 39 digits"),
    ('{"extra": -1' + "0" * 38 + "}", "max_number_digits", "the limit is 38"),
    ('{"extra": 1e300}', "max_number_digits", "the number 1e300"),
    ('{"extra": 1e999}', "max_number_digits", "the number 1e999"),
    ('{"extra": 1e-200}', "max_number_digits", "the number 1e-200"),
    (json.dumps({"title": "x" * (MAX_STRING_CHARS + 1)}), "max_string_chars", "title: string of 20001 characters"),
    (json.dumps({"form": {"k" * 250_000: 1}}), "max_key_chars", f"form: key 'kkkkkkkkkkkkkkkkkkkkkkkk…' has "
                                                               f"250000 characters; the limit is {MAX_KEY_CHARS}"),
    (json.dumps({"fields": {f"f{i}": i for i in range(MAX_OBJECT_KEYS + 1)}}), "max_object_keys",
     f"fields: object with 101 keys; the limit is {MAX_OBJECT_KEYS}"),
    (json.dumps({"reports": [{"userid": "u"}] * (MAX_ARRAY_ITEMS + 1)}), "max_array_items",
     f"reports: array of 1001 items; the limit is {MAX_ARRAY_ITEMS}"),
    (json.dumps({"a": [{"b": ["x" * (MAX_STRING_CHARS + 1)]}]}), "max_string_chars", "a[0].b[0]: string"),
])
def test_given_a_body_over_a_limit_then_400_limit_exceeded_naming_the_limit_and_where(text, limit, named) -> None:
    error = _refused(text)

    assert isinstance(error, InputLimitExceeded)
    assert error.details["limit"] == limit and error.details["max"] == api.LIMITS[limit]
    assert named in error.message and (limit in error.message or "nests deeper" in error.message), error.message
    status, body = error_response(error)
    assert status == 400 and body["error"]["code"] == "limit_exceeded"


def test_given_a_body_over_the_size_limit_then_413_before_it_is_parsed() -> None:
    error = _refused('{"a": "' + "啊" * (MAX_BODY_BYTES // 3) + '"}')  # fewer characters than bytes

    assert isinstance(error, PayloadTooLarge) and "max_body_bytes" in error.message
    assert f"the limit is {MAX_BODY_BYTES} bytes" in error.message
    assert error_response(error)[0] == 413


@pytest.mark.parametrize("text", [
    "[" * MAX_DEPTH + "]" * MAX_DEPTH,                       # exactly the limit
    '{"n": 0.' + "9" * (MAX_NUMBER_CHARS - 2) + "}",
    '{"n": -0.' + "9" * (MAX_NUMBER_CHARS - 2) + "}",           # the sign does not count
    '{"n": ' + "9" * MAX_NUMBER_DIGITS + "}",
    '{"n": 9.99e125, "m": 1e-130, "z": -0.0}',
    json.dumps({"s": "[" * 5000 + "9" * 5000}),                 # brackets and digits inside strings do not count
    json.dumps({"s": 'say \\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"'}),
    json.dumps({"k" * MAX_KEY_CHARS: "x" * MAX_STRING_CHARS}),
    json.dumps({"items": list(range(MAX_ARRAY_ITEMS))}),
])
def test_given_a_body_at_the_limits_then_it_parses(text) -> None:
    assert api.parse_body(text) is not None


def test_given_the_numbers_at_the_limits_then_dynamodb_can_store_them() -> None:
    body = api.parse_body('{"a": ' + "9" * MAX_NUMBER_DIGITS + ', "b": -' + "9" * MAX_NUMBER_DIGITS
                          + ', "c": 9.99e125, "d": 1e-130, "e": 0.' + "1" * (MAX_NUMBER_CHARS - 2) + "}")

    stored = to_dynamo(body)["M"]

    assert stored["a"] == {"N": "9" * MAX_NUMBER_DIGITS} and stored["c"] == {"N": "9.99E+125"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_given_a_non_json_number_then_400_naming_it(constant) -> None:
    error = _refused('{"amount": ' + constant + "}")

    assert f"{constant} is not a JSON number" in error.message


def test_given_malformed_json_then_the_parser_names_the_position() -> None:
    assert "line 1, column" in _refused('{"a": [1, 2}').message


@pytest.mark.parametrize("b64", [False, True])
def test_given_an_oversized_raw_body_then_413_before_it_is_decoded(b64) -> None:
    raw = "x" * (MAX_BODY_BYTES + 10)
    event = {"body": base64.b64encode(raw.encode()).decode() if b64 else raw, "isBase64Encoded": b64}

    with pytest.raises(PayloadTooLarge, match="max_body_bytes"):
        api.check_event_body(event)  # the api handler's first step, before the resolver decodes anything


def test_given_a_body_at_the_limit_then_the_envelope_check_lets_it_through() -> None:
    raw = "x" * MAX_BODY_BYTES
    api.check_event_body({"body": raw, "isBase64Encoded": False})
    api.check_event_body({"body": base64.b64encode(raw.encode()).decode(), "isBase64Encoded": True})


def test_given_an_error_nested_past_every_limit_then_400_not_500() -> None:
    status, body = error_response(RecursionError("maximum recursion depth exceeded"))

    assert status == 400 and body["error"]["code"] == "limit_exceeded"
    assert "max_depth" in body["error"]["message"]


def test_given_the_limits_then_they_are_listed_in_one_place() -> None:
    assert {"max_body_bytes", "max_depth", "max_number_chars", "max_string_chars", "max_key_chars",
            "max_object_keys", "max_array_items", "max_userids", "max_parties", "max_tags",
            "form_max_bytes", "form_max_depth", "form_max_list_items", "form_max_extra_keys",
            "form_max_extra_key_chars", "form_max_extra_value_bytes"} <= set(api.LIMITS)
    assert all(isinstance(v, int) and v > 0 for v in api.LIMITS.values())


@pytest.mark.parametrize("number", [10 ** 40, float("inf"), 1e200])
def test_given_a_number_dynamodb_cannot_hold_then_the_write_is_refused_as_bad_input(number) -> None:
    with pytest.raises(InvalidInput, match="a number cannot be stored"):
        to_dynamo({"qty": number})
