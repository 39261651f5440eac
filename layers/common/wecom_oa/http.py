"""HTTP mapping, done once: typed errors and validation failures → JSON `{error: {code, message, details}}`.

Never a stack trace and never a 500 for input a client sent: pydantic and powertools validation
errors become 400 with the offending fields named; a body over an input limit (`wecom_oa.api.LIMITS`)
is 413 `payload_too_large` or 400 `limit_exceeded` naming the limit. Unexpected exceptions become a 500 with a
generic message; the details go to the log only.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ValidationError

from wecom_oa.errors import InputLimitExceeded, InvalidInput, OAError
from wecom_oa.observability import logger
from wecom_oa.validation import WHERE, Model, validation_details


class ErrorDetail(Model):
    code: str
    message: str
    details: Any = None


class ErrorResponse(Model):
    """`{error: {code, message, details}}`, the body of every 4xx and 5xx (`error_response`)."""

    error: ErrorDetail


def _error_doc(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorResponse}}}


# The error answers every route may give, for the OpenAPI document (routes pass `responses=ERRORS`).
ERRORS: dict[int, dict[str, Any]] = {
    400: _error_doc("invalid_input / limit_exceeded: the field or limit is named in message and details"),
    404: _error_doc("not_found"),
    409: _error_doc("conflict, already_exists, stale_version or illegal_transition"),
    413: _error_doc("payload_too_large: the body is over max_body_bytes"),
}


def created_doc(model: type[BaseModel] | None = None, description: str = "created") -> dict[int, dict[str, Any]]:
    """The 201 answer of a creating route, for the OpenAPI document."""
    return {201: {"description": description, **({"content": {"application/json": {"model": model}}} if model else {})}}


def ok_doc(model: type[BaseModel], description: str = "OK") -> dict[int, dict[str, Any]]:
    return {200: {"description": description, "content": {"application/json": {"model": model}}}}


def created(body: dict[str, Any], status: int = 201) -> Any:
    """A 201 response with `body` as JSON (what a creating route returns, as
    `Response[dict[str, Any]]`); the resolver serializes it like any other answer."""
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=status, content_type="application/json", body=body)


def invalid_from_validation(exc: ValidationError, what: str = "request body") -> InvalidInput:
    return invalid_from_errors(exc.errors(include_url=False, include_input=False), what)


def invalid_from_errors(errors: list[dict[str, Any]], what: str = "request body") -> InvalidInput:
    """InvalidInput whose message starts with the first bad field and its problem
    (`form.amount: Input should be greater than 0`), listing all of them in `details`."""
    details = validation_details(errors)
    if not details:
        return InvalidInput(f"invalid {what}")
    first = details[0]
    if first["field"] == "(body)" and first["problem"] == "Field required":
        return InvalidInput("request body is required (JSON object)", details=details)
    more = f" (and {len(details) - 1} more: {', '.join(d['field'] for d in details[1:4])})" if len(details) > 1 else ""
    return InvalidInput(f"{first['field']}: {first['problem']}{more}", details=details)


def error_response(exc: Exception) -> tuple[int, dict[str, Any]]:
    """Status and body for any exception."""
    if isinstance(exc, ValidationError):
        exc = invalid_from_validation(exc)
    if isinstance(exc, RecursionError):
        # Only input nested past every limit gets here (the body scan and form bounds stop it
        # earlier): the caller's problem, named as such, never a 500.
        logger.warning("request too deeply nested to process", extra={"error": type(exc).__name__})
        exc = InputLimitExceeded("request nests too deeply to process (max_depth)",
                                 details={"limit": "max_depth"})
    if isinstance(exc, OAError):
        if exc.status >= 500:
            logger.error("request failed", extra={"error_code": exc.code, "error": exc.message})
        return exc.status, exc.to_body()
    logger.error("unhandled error", exc_info=exc)  # exc_info: handlers may call this outside `except`
    return 500, {"error": {"code": "internal_error", "message": "internal error; see the service logs"}}


def reject_unknown_query(app: Any, next_middleware: Any) -> Any:
    """Resolver middleware: a query parameter the route does not take answers 400 naming it (a
    misspelt `limt=5` would otherwise be ignored silently)."""
    route = app.context.get("_route")
    given = app.current_event.query_string_parameters or {}
    if route is not None and given:
        known = {p.alias for p in route.dependant.query_params}
        if unknown := sorted(set(given) - known):
            takes = ", ".join(sorted(known)) or "none"
            raise InvalidInput(f"{unknown[0]}: unknown query parameter (this route takes: {takes})",
                               details=[{"field": name, "problem": "unknown query parameter"} for name in unknown])
    return next_middleware(app)


def as_json_body(event: dict[str, Any]) -> dict[str, Any]:
    """The API reads every body as JSON, whatever Content-Type the caller sent (`curl -d` says
    form-urlencoded): the header is set so the resolver does the same."""
    if event.get("body"):
        headers = event.get("headers") or {}
        if not str(headers.get("content-type", "")).lower().startswith("application/json"):
            event["headers"] = {**{k: v for k, v in headers.items() if k.lower() != "content-type"},
                                "content-type": "application/json"}
    return event


def register_error_handlers(app: Any) -> None:
    """Attach the mapping to a powertools event-handler resolver."""
    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.event_handler.exceptions import ServiceError
    from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

    def _respond(exc: Exception) -> Response:
        status, body = error_response(exc)
        return Response(status_code=status, content_type="application/json",
                        body=json.dumps(body, ensure_ascii=False))

    @app.exception_handler(RequestValidationError)
    def _request_validation(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        where = WHERE.get(str(errors[0].get("loc", ("body",))[0]), "request") if errors else "request"
        return _respond(invalid_from_errors(errors, where))

    @app.exception_handler(ValidationError)
    def _pydantic(exc: ValidationError) -> Response:
        return _respond(exc)

    @app.exception_handler(OAError)
    def _oa(exc: OAError) -> Response:
        return _respond(exc)

    @app.exception_handler(json.JSONDecodeError)
    def _bad_json(exc: json.JSONDecodeError) -> Response:
        return _respond(InvalidInput(f"request body is not valid JSON (line {exc.lineno}, column {exc.colno})"))

    @app.exception_handler(UnicodeDecodeError)
    def _not_utf8(exc: UnicodeDecodeError) -> Response:
        return _respond(InvalidInput(f"request body is not UTF-8 (byte {exc.start})"))

    @app.exception_handler(ServiceError)
    def _resolver(exc: ServiceError) -> Response:
        # Raised by the resolver itself, e.g. NotFoundError when a path parameter holds characters
        # its route pattern does not match (API Gateway forwarded it): the client's problem, not ours.
        code = "not_found" if exc.status_code == 404 else "bad_request"
        return Response(status_code=exc.status_code, content_type="application/json",
                        body=json.dumps({"error": {"code": code, "message": str(exc.msg) or code}}))

    @app.exception_handler(Exception)
    def _any(exc: Exception) -> Response:
        return _respond(exc)
