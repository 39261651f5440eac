"""Bounded input, fuzzed: deep, long and large inputs over every HTTP route other systems call
(nesting past the limit, numbers of thousands of digits, strings and keys of hundreds of KB, objects
of thousands of keys, arrays of tens of thousands of items, bodies over the size limit, unknown form
keys, recipient lists of strangers). Every answer is a 2xx or a 4xx naming the problem, never a 5xx;
a limit's answer names the limit; a rejected request writes nothing (no DynamoDB/SQS/Step Functions
write and no WeCom message from the request's thread).

Figures (cases, 2xx, 4xx by code, 5xx) are printed and written to results/bounded_input/figures-*.json."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.adversarial.test_adversarial_api_input import VALID, _paths
from wecom_oa.api import LIMITS, MAX_BODY_BYTES

pytestmark = pytest.mark.slow

RESULTS = Path(__file__).resolve().parents[2] / "results" / "bounded_input"
HOLE = "\u0000HOLE\u0000"  # stands for the raw JSON fragment a case injects
HOLE_JSON = json.dumps(HOLE)

BODIES = {
    **VALID,
    ("POST", "/notices"): {**VALID[("POST", "/notices")], "sender": "lina", "ack_deadline": "2030-11-29T18:00:00+08:00"},
    ("POST", "/tasks"): {**VALID[("POST", "/tasks")], "due_at": "2030-11-29T18:00:00+08:00"},
    ("POST", "/tickets/{id}/actions"): {"action": "comment", "by": "zhangsan", "comment": "看一下"},
    ("POST", "/tasks/{id}/done"): {"by": "lisi"},
    ("POST", "/outbox/parked/{id}/replay"): {"by": "zhangsan"},
    ("PUT", "/budgets/{department_id}"): VALID[("PUT", "/budgets/9")],
}
QUERIES = {"/tickets": ("team", "status"), "/tasks": ("group", "owner", "status"), "/budgets/{department_id}": ("period",)}

# Sizes straddling each limit, plus the sizes the probe used.
DEPTHS = [1, 4, 5, 31, 32, 33, 200, 1000, 5000, 40_000]
DIGITS = [1, 2, 3, 14, 15, 38, 39, 40, 41, 100, 4300, 4301, 5000, 20_000]
LENGTHS = [0, 1, 63, 64, 65, 128, 129, 500, 501, 4000, 4001, 20_000, 20_001, 100_000, 250_000]
COUNTS = [0, 1, 8, 9, 20, 21, 99, 100, 101, 999, 1000, 1001, 5000, 40_000]
CHARS = ["x", "啊", "\\u0041", '\\"', "[", "9"]  # as they appear inside a JSON string (escapes are 2-6 chars)


def sizes(points: list[int]) -> st.SearchStrategy[int]:
    """Mostly the points around a limit, otherwise anything up to the largest."""
    return st.sampled_from(points) | st.integers(min_value=0, max_value=max(points))


def _nested(depth: int, shape: str) -> str:
    if shape == "array":
        return "[" * depth + "]" * depth
    if shape == "object":
        return '{"a":' * depth + "1" + "}" * depth
    return '{"a":[' * (depth // 2) + "0" + "]}" * (depth // 2)


def _number(digits: int, shape: str) -> str:
    return {"int": "9" * digits, "negative": "-" + "9" * digits, "fraction": "1." + "5" * digits,
            "exponent": "1e" + "9" * digits, "small": "0." + "0" * digits + "1"}[shape]


def _string(length: int, char: str) -> str:
    return '"' + char * length + '"'


@st.composite
def fragments(draw) -> str:
    """A raw JSON value that is deep, long or large."""
    kind = draw(st.sampled_from(["deep", "number", "string", "keys", "key", "array", "mixed"]))
    if kind == "deep":
        return _nested(draw(sizes(DEPTHS)), draw(st.sampled_from(["array", "object", "mixed"])))
    if kind == "number":
        return _number(draw(sizes(DIGITS)), draw(st.sampled_from(["int", "negative", "fraction",
                                                                           "exponent", "small"])))
    if kind == "string":
        return _string(draw(sizes(LENGTHS)), draw(st.sampled_from(CHARS)))
    if kind == "keys":
        count = draw(sizes(COUNTS))
        return "{" + ",".join(f'"k{i}":{i}' for i in range(count)) + "}"
    if kind == "key":
        return "{" + _string(draw(sizes(LENGTHS)), draw(st.sampled_from(CHARS))) + ":1}"
    if kind == "array":
        count = draw(sizes(COUNTS))
        item = draw(st.sampled_from(['"lisi"', '"ghost"', "1", "{}", "[]", '"x"']))
        return "[" + ",".join([item] * count) + "]"
    inner = draw(st.sampled_from(['"' + "x" * 30_000 + '"', "9" * 60, "[" * 40 + "]" * 40, '{"a":1}']))
    opened, closed = draw(st.sampled_from([1, 10, 30])), draw(st.sampled_from([1, 10, 30]))  # may not match
    return "[" * opened + inner + "]" * closed


def _at(value, path):
    for key in path:
        value = value[key]
    return value


def _with_hole(body, path, new_key: str | None):
    """A copy of `body` with HOLE at `path` (or under `new_key` of the object at `path`)."""
    body = json.loads(json.dumps(body))
    if new_key is not None:
        _at(body, path)[new_key] = HOLE
    else:
        _at(body, path[:-1])[path[-1]] = HOLE
    return body


def _raw(body_with_hole, fragment: str) -> bytes:
    return json.dumps(body_with_hole, ensure_ascii=False).replace(HOLE_JSON, fragment, 1).encode()


@st.composite
def envelope_cases(draw, routes):
    """A valid body of a route with one value (or a new key) replaced by a deep/long/large fragment,
    or the fragment as the whole body, or a body over the size limit."""
    method, template = draw(st.sampled_from(routes))
    valid = BODIES.get((method, template), {"by": "zhangsan"})
    shape = draw(st.sampled_from(["value", "value", "new key", "whole", "oversized"]))
    if shape == "oversized":
        extra = draw(st.sampled_from([MAX_BODY_BYTES - 200, MAX_BODY_BYTES + 1, 2 * MAX_BODY_BYTES, 1_200_000]))
        binary = draw(st.booleans())
        if binary:  # not UTF-8: API Gateway hands it over base64-encoded
            return method, template, b"\xff" * extra
        return method, template, _raw({**valid, "padding": HOLE}, '"' + "x" * extra + '"')
    fragment = draw(fragments())
    if shape == "whole":
        return method, template, fragment.encode()
    if shape == "new key":
        path = draw(st.sampled_from([p for p in _paths(valid) if isinstance(_at(valid, p), dict)]))
        key = draw(st.sampled_from(["extra", "k" * 200, "备注"]))
        return method, template, _raw(_with_hole(valid, path, key), fragment)
    path = draw(st.sampled_from([p for p in _paths(valid) if p]))
    return method, template, _raw(_with_hole(valid, path, None), fragment)


@st.composite
def form_and_recipient_cases(draw):
    """Approval forms with unknown keys, deep or long values; recipient lists of strangers."""
    kind = draw(st.sampled_from(["form", "form", "notice", "reports", "handover"]))
    ghosts = [f"ghost-{i}" for i in range(max(1, draw(sizes([1, 3, 4, 50, 51, 999, 1000, 1001, 3000]))))]
    if kind == "form":
        route = draw(st.sampled_from([("POST", "/approvals"), ("POST", "/approvals/evaluate")]))
        form = dict(BODIES[("POST", "/approvals")]["form"])
        count = max(1, draw(sizes([1, 8, 9, 50, 101])))
        key_len = max(1, draw(sizes([1, 20, 64, 65, 128, 129, 250_000])))
        value = draw(st.sampled_from(['"x"', '"' + "x" * 1100 + '"', '"' + "x" * 17_000 + '"', _nested(5, "object"),
                                      _nested(31, "array"), _nested(200, "array"), "9" * 5000, "[" + ",".join(['"a"'] * 21) + "]"]))
        for i in range(count):
            form[(f"k{i}_" + "k" * key_len)[:key_len] if key_len > 1 else f"k{i}"] = HOLE
        body = {**BODIES[("POST", "/approvals")], "form": form}
        text = json.dumps(body, ensure_ascii=False).replace(HOLE_JSON, value)
        return (*route, text.encode())
    if kind == "notice":
        mix = draw(st.sampled_from([[], ["lisi"], ["lisi", "zhangsan", "lina"]]))
        touser = mix + ghosts if draw(st.booleans()) else mix + ghosts[:3]
        body = {**BODIES[("POST", "/notices")], "touser": touser if draw(st.booleans()) else "|".join(touser),
                "toparty": draw(st.sampled_from([[], [4], list(range(1000, 1101)), list(range(1000, 1100))]))}
        return "POST", "/notices", json.dumps(body).encode()
    if kind == "reports":
        reports = [{"userid": u, "date": "2026-11-23"} for u in ["lisi", *ghosts]]
        return "POST", "/reports", json.dumps({"reports": reports}).encode()
    valid = BODIES[("POST", "/approvals/evaluate")]
    body = {"type": "leave", "applicant": "lisi", "form": {**valid["form"], "handover_to": ghosts}}
    return "POST", draw(st.sampled_from(["/approvals", "/approvals/evaluate"])), json.dumps(body).encode()


@st.composite
def path_and_query_cases(draw, routes):
    """Long, odd path parameters and query values on every route (GETs included)."""
    method, template = draw(st.sampled_from([r for r in routes if "{" in r[1] or r == ("GET", r[1]) and r[1] in QUERIES]))
    value = draw(st.sampled_from(["9" * 5000, "[" * 300, "啊" * 3000, "%00", "{}", "x" * 20_001])
                 | sizes([1, 64, 129, 2000, 30_000]).map(lambda n: "x" * max(1, n))
                 | st.text(min_size=1, max_size=40).filter(lambda t: not set(t) & set("/?#&=")))
    path = re.sub(r"\{[^}]+\}", lambda _m: value, template)
    names = QUERIES.get(template, ())
    query = "&".join(f"{n}={value}" for n in names) if names and draw(st.booleans()) else ""
    body = json.dumps(BODIES.get((method, template), {"by": "zhangsan"})).encode() if method in ("POST", "PUT") else None
    return method, path, query, body


# -------------------------------------------------------------------------------------- harness

WRITES = ("Put", "Update", "Delete", "BatchWrite", "TransactWrite", "Send", "Start", "Create", "Stop")
WECOM_EFFECTS = ("message/", "appchat/", "webhook/", "oa/applyevent", "oa/vacation/set")


class Effects:
    """What the request's own thread writes: AWS write calls that succeeded (bar the WeCom token
    cache) and WeCom calls with an effect. Background work of earlier accepted cases runs elsewhere and is not counted."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.seen: list[tuple[str, ...]] = []

    def aws(self, service: str, operation: str, params: dict) -> None:
        if threading.get_ident() != self.thread or not operation.startswith(WRITES):
            return
        key = params.get("Item") or params.get("Key") or {}
        pk = (key.get("pk") or {}).get("S", "") if isinstance(key, dict) else ""
        if not pk.startswith("TOKEN#"):
            self.seen.append((service, operation, pk))

    def wecom(self, path: str) -> None:
        if threading.get_ident() == self.thread and path.strip("/").startswith(WECOM_EFFECTS):
            self.seen.append(("wecom", path))


@pytest.fixture
def effects(local_app, monkeypatch):
    import botocore.client

    recorder = Effects()
    original = botocore.client.BaseClient._make_api_call

    def recording(client, operation, params):
        result = original(client, operation, params)  # a write refused by its condition raises: not a write
        recorder.aws(client.meta.service_model.service_name, operation, params)
        return result

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    handle = local_app.sandbox.handle

    def sandbox_handle(method, path, query, body):
        recorder.wecom(path)
        return handle(method, path, query, body)

    monkeypatch.setattr(local_app.sandbox, "handle", sandbox_handle)
    return recorder


def _routes(app) -> list[tuple[str, str]]:
    """The JSON API's routes (the callback and the console's HTML pages have tests of their own:
    tests/integration/test_callback_ingress.py, tests/adversarial/test_adversarial_console.py)."""
    return sorted({(r.method, r.path) for r in app.stack.routes
                   if r.path != "/wecom/callback" and not r.path.startswith("/console")})


class Tally:
    def __init__(self, name: str) -> None:
        self.name, self.counts, self.codes, self.limits = name, Counter(), Counter(), Counter()
        self.seconds, self.slowest = 0.0, (0.0, "")

    def add(self, status: int, answer: dict | None, seconds: float, what: str) -> None:
        self.seconds += seconds
        self.slowest = max(self.slowest, (round(seconds, 3), what))
        self.counts["cases"] += 1
        self.counts[f"{status // 100}xx"] += 1
        error = (answer or {}).get("error") if isinstance(answer, dict) else None
        if error:
            self.codes[error.get("code")] += 1
            if isinstance(error.get("details"), dict) and error["details"].get("limit"):
                self.limits[error["details"]["limit"]] += 1

    def report(self) -> dict:
        figures = {"test": self.name, **{k: self.counts[k] for k in ("cases", "2xx", "4xx", "5xx")},
                   "codes": dict(self.codes), "limits": dict(self.limits),
                   "request_seconds": round(self.seconds, 1), "slowest": self.slowest}
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"figures-{self.name}.json").write_text(json.dumps(figures, indent=1), encoding="utf-8")
        print(f"\nbounded-input fuzz {self.name}: {json.dumps(figures, ensure_ascii=False)}")
        return figures


def _call(local_app, effects: Effects, tally: Tally, method: str, path: str, body: bytes | None, query: str = ""):
    effects.seen.clear()
    started = time.perf_counter()
    resp = local_app.stack.http(method, path, body=body, query=query, headers={"content-type": "application/json"})
    seconds = time.perf_counter() - started
    status = resp["statusCode"]
    try:
        answer = json.loads(resp["body"]) if resp["body"] else None
    except ValueError:
        answer = resp["body"]
    tally.add(status, answer, seconds, f"{method} {path[:60]}?{query[:40]} ({len(body or b'')} bytes)")
    shown = (body or b"")[:300]
    assert status < 500, (method, path, query[:200], shown, resp["body"][:500])
    if status >= 400:
        error = answer["error"]
        assert error["code"] and error["message"], answer
        if error["code"] in ("limit_exceeded", "payload_too_large"):
            assert error["details"]["limit"] in LIMITS and error["details"]["limit"] in error["message"], error
        assert not effects.seen, ("a rejected request had effects", effects.seen[:5], method, path, shown, answer)
    return status, answer


FUZZ = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def fuzz(examples: int) -> settings:
    return settings(FUZZ, max_examples=examples)


def test_given_deep_long_and_large_bodies_on_every_route_then_never_5xx_and_a_rejection_writes_nothing(
        local_app, effects) -> None:
    routes = [r for r in _routes(local_app) if r[0] in ("POST", "PUT")]
    tally = Tally("envelope")

    @fuzz(1200)
    @given(case=envelope_cases(routes))
    def run(case) -> None:
        method, template, body = case
        path = re.sub(r"\{[^}]+\}", "T-1", template)
        _call(local_app, effects, tally, method, path, body)

    run()
    figures = tally.report()
    assert figures["cases"] >= 1200 and figures["5xx"] == 0
    assert {"max_depth", "max_number_chars", "max_number_digits", "max_string_chars", "max_body_bytes"} <= set(figures["limits"])


def test_given_unbounded_forms_and_strangers_as_recipients_then_4xx_naming_them_and_nothing_written(
        local_app, effects) -> None:
    tally = Tally("forms-recipients")

    @fuzz(600)
    @given(case=form_and_recipient_cases())
    def run(case) -> None:
        _call(local_app, effects, tally, *case)

    run()
    figures = tally.report()
    assert figures["cases"] >= 600 and figures["5xx"] == 0
    assert {"form_max_extra_keys", "form_max_extra_key_chars", "form_max_list_items", "max_parties"} <= set(figures["limits"])


def test_given_the_valid_bodies_then_accepted_and_given_long_path_parameters_and_queries_then_never_5xx(
        local_app, effects) -> None:
    routes = _routes(local_app)
    tally = Tally("paths-queries")

    @fuzz(300)
    @given(case=path_and_query_cases(routes))
    def run(case) -> None:
        method, path, query, body = case
        _call(local_app, effects, tally, method, path, body, query)

    run()
    figures = tally.report()
    assert figures["cases"] >= 300 and figures["5xx"] == 0
    for (method, template), body in BODIES.items():  # last: what they start runs in the background
        if "{" not in template:  # the bodies every case starts from are valid
            status, answer = local_app.http(method, template, body)
            assert status in (200, 201), (method, template, answer)


def test_given_1000_unknown_recipients_then_400_from_the_roster_with_no_wecom_call_each(local_app) -> None:
    ghosts = [f"ghost-{i}" for i in range(998)]
    body = {**BODIES[("POST", "/notices")], "touser": ["lisi", "zhangsan", *ghosts]}
    before = len(local_app.sandbox.calls())

    first = local_app.http("POST", "/notices", body)
    after_first = local_app.sandbox.calls()[before:]
    again = local_app.http("POST", "/notices", body)
    after_again = local_app.sandbox.calls()[before + len(after_first):]

    for status, answer in (first, again):
        assert status == 400 and "touser[2]=ghost-0" in answer["error"]["message"], answer
        assert "and 978 more" in answer["error"]["message"] and len(answer["error"]["details"]) == 998
    lookups = Counter(c["path"].strip("/") for c in after_first)
    assert lookups["user/get"] <= 4 and sum(lookups.values()) <= 8, lookups  # not one call per stranger
    assert not [c for c in after_again if c["path"].strip("/").startswith(("user/", "department/"))], after_again
