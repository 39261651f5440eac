"""docs/openapi.json is the document the live resolver generates (regenerate with `make openapi`),
and it describes what the API does: every template route, its body's schema with examples, the
400 error body, IAM authorization; no 422 that the API never answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from local.stack import load_template
from wecom_oa import openapi

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "docs" / "openapi.json"


@pytest.fixture(scope="module")
def live() -> dict:
    import functions.api.app as handler

    return openapi.document(handler.include_all(), openapi.version())


def test_given_the_committed_document_then_it_matches_the_live_resolver(live) -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi.dumps(live), \
        "docs/openapi.json is stale: run `make openapi` and commit it"


def test_given_the_template_then_every_api_route_is_documented(live) -> None:
    template = load_template(ROOT / "template.yaml")
    events = template["Resources"]["ApiFunction"]["Properties"]["Events"].values()
    exposed = {(e["Properties"]["Method"].lower(), e["Properties"]["Path"]) for e in events if e["Type"] == "HttpApi"}

    documented = {(method, path) for path, ops in live["paths"].items() for method in ops}
    assert documented == exposed


def test_given_a_route_with_a_body_then_its_schema_is_a_named_model_with_examples(live) -> None:
    schemas = live["components"]["schemas"]
    for path, ops in live["paths"].items():
        for method, op in ops.items():
            if method in ("post", "put") and "requestBody" in op:
                ref = op["requestBody"]["content"]["application/json"]["schema"]
                ref = ref.get("$ref") or next(r["$ref"] for r in ref.get("anyOf", []) if "$ref" in r)
                name = ref.rsplit("/", 1)[-1]
                assert name in schemas, (method, path)
                if re.fullmatch(r"/(tickets|tasks|notices|approvals|progress|reports|budgets/\{department_id\})", path):
                    assert schemas[name].get("examples"), f"{method} {path}: {name} has no examples"


def test_given_any_route_then_400_is_our_error_body_and_no_422_is_promised(live) -> None:
    for path, ops in live["paths"].items():
        for method, op in ops.items():
            assert "422" not in op["responses"], (method, path)
            if path != "/health":
                body = op["responses"]["400"]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/ErrorResponse"}, (method, path)
                assert op["security"] == [{"sigv4": []}]
    assert "HTTPValidationError" not in json.dumps(live)


def test_given_local_mode_then_swagger_ui_serves_the_document_without_a_cdn(live) -> None:
    from local.server import _docs

    status, headers, page = _docs("/_docs")
    assert status == 200 and headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page and "https://" not in page.split("<script>", 1)[0]
    assert '"/tickets/{id}/actions"' in page
    status, _, text = _docs("/_docs/openapi.json")
    assert status == 200 and json.loads(text) == live
