"""Fuzzing every HTTP route other systems call: random and half-plausible JSON, broken bytes and odd
path parameters must get a 4xx naming the problem (or a 2xx), never a 5xx, and a rejected request
writes nothing to the table."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

# Field names the API's bodies use: dictionaries over these reach deeper validation than random keys.
FIELDS = ("owner", "group", "due_at", "external_id", "type", "applicant", "form", "amount", "reason", "invoice_no", "leave_type", "start", "end", "days",
          "handover_to", "channel", "title", "reporter", "priority", "fields", "action", "by", "to", "comment",
          "version", "touser", "toparty", "totag", "content", "ack_deadline", "plans", "actuals", "reports",
          "userid", "date", "order_id", "actual_qty", "product", "total_qty", "period", "customer_visible")

scalars = (st.none() | st.booleans() | st.integers(min_value=-10**12, max_value=10**12)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=40))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=5),
                      max_leaves=12)
bodies = (st.dictionaries(st.sampled_from(FIELDS), values, max_size=8).map(
              lambda d: json.dumps(d, ensure_ascii=False, allow_nan=True).encode())
          | values.map(lambda v: json.dumps(v, ensure_ascii=False, allow_nan=True).encode())
          | st.binary(max_size=120))
segments = st.text(min_size=1, max_size=60).filter(lambda s: "/" not in s and "?" not in s and "#" not in s)


def _routes(app) -> list[tuple[str, str]]:
    """The JSON API's routes (the callback and the console's HTML pages have tests of their own:
    tests/integration/test_callback_ingress.py, tests/adversarial/test_adversarial_console.py)."""
    return sorted({(r.method, r.path) for r in app.stack.routes
                   if r.path != "/wecom/callback" and not r.path.startswith("/console")})


# What a request to each route would create. Only these are compared: the token cache, the send
# ledger and the work earlier accepted examples still do in the background are not the request's.
# (Cards are left out: an earlier approval's execution sends its stage cards whenever it gets there.)
CREATES = {"/approvals": ("APPROVAL#",), "/tickets": ("TICKET#",), "/notices": ("NOTICE#",),
           "/progress": ("ORDER#",), "/reports": ("REPORTS#",), "/budgets": ("BUDGET#", "BUDGETUSE#"),
           "/tasks": ("TASK#",)}


def _items(app, path: str) -> set[tuple[str, str]]:
    prefixes = next((p for route, p in CREATES.items() if path.startswith(route)), ())
    if not prefixes:
        return set()
    dynamo = app.stack.client("dynamodb")
    pages = dynamo.get_paginator("scan").paginate(TableName=app.stack.env["TABLE_NAME"],
                                                 ProjectionExpression="pk, sk")
    return {(i["pk"]["S"], i["sk"]["S"]) for page in pages for i in page["Items"]
            if i["pk"]["S"].startswith(prefixes)}


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_given_any_body_and_path_when_calling_any_route_then_never_5xx_and_a_rejection_writes_nothing(
        local_app, data) -> None:
    method, template = data.draw(st.sampled_from(_routes(local_app)), label="route")
    path = re.sub(r"\{[^}]+\}", lambda _m: data.draw(segments, label="path parameter"), template)
    body = data.draw(bodies, label="body") if method in ("POST", "PUT") else None
    before = _items(local_app, path)

    resp = local_app.stack.http(method, path, body=body, headers={"content-type": "application/json"})

    status = resp["statusCode"]
    assert status < 500, (method, path, body, resp)
    if status >= 400 and status != 404 or (status == 404 and "{" in template):
        error = json.loads(resp["body"])["error"]
        assert error["code"] and error["message"], resp
        assert _items(local_app, path) <= before, ("a rejected request wrote to the table", method, path, body, resp)


# Valid requests, one field at a time replaced by junk or dropped: reaches the validation behind the
# first layer (rule inputs, ticket fields, recipients, dates, amounts).
VALID = {
    ("POST", "/approvals"): {"type": "expense", "applicant": "zhangsan",
                             "form": {"amount": 800, "reason": "打车", "invoice_no": "INV-F-1"}},
    ("POST", "/approvals/evaluate"): {"type": "leave", "applicant": "lisi", "form": {
        "leave_type": "annual", "start": "2026-11-24", "end": "2026-11-25", "days": 2, "handover_to": ["zhangsan"]}},
    ("POST", "/tickets"): {"type": "repair", "title": "叉车无法启动", "reporter": "chenjing", "priority": "P3",
                           "fields": {"device_name": "叉车", "location": "仓库"}},
    ("POST", "/notices"): {"title": "盘点通知", "content": "今晚盘点", "touser": ["lisi"], "toparty": [4],
                           "ack_deadline": "2026-11-30T18:00:00+08:00"},
    ("POST", "/progress"): {"plans": [{"order_id": "O-F", "product": "外壳", "total_qty": 100,
                                       "start": "2026-11-23T08:00:00+08:00", "end": "2026-11-23T18:00:00+08:00"}]},
    ("POST", "/reports"): {"reports": [{"userid": "lisi", "date": "2026-11-23"}]},
    ("PUT", "/budgets/9"): {"amount": 1000, "period": "2026-11"},
    ("POST", "/tasks"): {"title": "整理盘点清单", "owner": "lisi", "group": "service-desk",
                         "due_at": "2026-11-30T18:00:00+08:00", "external_id": "erp:fuzz-1"},
}


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _mutate(body, path, junk, drop: bool):
    if not path:
        return junk
    body = json.loads(json.dumps(body))
    parent = body
    for key in path[:-1]:
        parent = parent[key]
    if drop:
        del parent[path[-1]]
    else:
        parent[path[-1]] = junk
    return body


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_given_a_valid_request_with_one_field_broken_then_never_5xx_and_a_rejection_writes_nothing(
        local_app, data) -> None:
    (method, path), valid = data.draw(st.sampled_from(sorted(VALID.items())), label="request")
    where = data.draw(st.sampled_from(list(_paths(valid))), label="field")
    drop = bool(where) and data.draw(st.booleans(), label="drop")
    body = _mutate(valid, where, None if drop else data.draw(values, label="junk"), drop)
    before = _items(local_app, path)

    status, answer = local_app.http(method, path, body if isinstance(body, dict | list) else
                                    json.dumps(body, allow_nan=True).encode())

    assert status < 500, (method, path, body, answer)
    if status >= 400:
        assert answer["error"]["code"] and answer["error"]["message"], answer
        assert _items(local_app, path) <= before, ("a rejected request wrote to the table", _items(local_app, path) - before, method, path, body,
                                                   answer)


@pytest.mark.parametrize(("method", "path", "body", "status"), [
    ("GET", "/approvals/\x1f", None, 404),       # a control character the route pattern does not match
    ("GET", "/tickets/\x00", None, 404),
    ("POST", "/approvals", b"\x80", 400),         # not UTF-8
    ("POST", "/tickets", b"{\"type\": \"\xff\"}", 400),
    ("POST", "/progress", b"{\"actuals\": true}", 400),  # not a list
])
def test_given_found_cases_then_4xx_with_a_named_problem(local_app, method, path, body, status) -> None:
    resp = local_app.stack.http(method, path, body=body, headers={"content-type": "application/json"})

    assert resp["statusCode"] == status, resp
    assert json.loads(resp["body"])["error"]["message"]
