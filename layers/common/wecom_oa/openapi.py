"""The OpenAPI 3 document of the HTTP API, generated from the live resolver (the routers' models
and docstrings). `docs/openapi.json` is this document committed (`make openapi` writes it; a test
fails when it drifts); local mode serves it with Swagger UI at `/_docs`.

Corrections to what powertools generates: our validation errors answer 400 with the
`ErrorResponse` body (`wecom_oa.http`), not 422 with FastAPI's `HTTPValidationError`, so those
are taken out; a route that documents only its errors gets its 200 back; and the IAM (SigV4)
authorization the template puts on every route but /health is declared as a security scheme."""

from __future__ import annotations

import json
from typing import Any

TITLE = "WeCom OA Automation API"
DESCRIPTION = (
    "Approvals with branch rules, tickets (工单) with escalation timers, notices with read tracking, "
    "tasks (待办), production progress and daily reports, for the company's other systems. "
    "Every route but /health is authorized with AWS IAM (SigV4, `execute-api:Invoke`). "
    "Errors are `{error: {code, message, details}}`; 400 names the field or the input limit broken. "
    "Every time in an answer is ISO 8601 to the second with the company's offset (OA_TIMEZONE, e.g. "
    "`2026-12-04T18:00:00+08:00`); times sent may carry any offset (`Z`, `+08:00`; `+` in a query string "
    "as `%2B`). Lists answer a page of at most `limit` (1 to 100, default 20) with `next_cursor`: pass it "
    "back as `cursor` for the next page until it is null."
)


def document(app: Any, version: str) -> dict[str, Any]:
    """The OpenAPI document of `app` (the api function's resolver) as a JSON-ready dict."""
    schema = json.loads(app.get_openapi_json_schema(title=TITLE, version=version, description=DESCRIPTION))
    schema["paths"] = dict(sorted(schema.get("paths", {}).items()))
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            if not any(code.startswith("2") for code in responses):
                responses["200"] = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
            operation["responses"] = dict(sorted(responses.items()))
            if path != "/health":
                operation["security"] = [{"sigv4": []}]
    components = schema.setdefault("components", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        components.get("schemas", {}).pop(name, None)
    components["securitySchemes"] = {"sigv4": {
        "type": "apiKey", "name": "Authorization", "in": "header",
        "description": "AWS Signature Version 4 (API Gateway IAM authorization)"}}
    return schema


def dumps(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def version() -> str:
    """The project's version (pyproject.toml), the document's `info.version`."""
    import tomllib
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[3] / "pyproject.toml"
    if pyproject.is_file():
        return str(tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("version", "0"))
    return "0"


def swagger_page(schema: dict[str, Any]) -> str:
    """Swagger UI over `schema`, with the UI's script and styles inline (the copies powertools ships:
    no CDN, so it works offline)."""
    from pathlib import Path

    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(generate_swagger_html.__code__.co_filename).parent
    return generate_swagger_html(json.dumps(schema, ensure_ascii=False).replace("</", "<\\/"),
                                 (assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
                                 (assets / "swagger-ui.min.css").read_text(encoding="utf-8"), "", None)


def main() -> int:
    """`python -m wecom_oa.openapi [path]`: write the document (default docs/openapi.json)."""
    import sys
    from pathlib import Path

    import functions.api.app as handler

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/openapi.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(dumps(document(handler.include_all(), version())), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
