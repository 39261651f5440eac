"""HTTP mapping, done once: typed errors and validation failures → JSON `{error: {code, message, details}}`.

Never a stack trace and never a 500 for input a client sent: pydantic and powertools validation
errors become 400 with the offending fields named; a body over an input limit (`services.api.LIMITS`)
is 413 `payload_too_large` or 400 `limit_exceeded` naming the limit. Unexpected exceptions become a 500 with a
generic message; the details go to the log only.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from wecom_oa.errors import InputLimitExceeded, InvalidInput, OAError
from wecom_oa.observability import logger


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic error list → `[{field, problem}]` without echoing input values back."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        out.append({"field": ".".join(loc) or "(body)", "problem": err.get("msg", "invalid")})
    return out


def invalid_from_validation(exc: ValidationError, what: str = "request body") -> InvalidInput:
    details = validation_details(exc.errors(include_url=False, include_input=False))
    fields = ", ".join(d["field"] for d in details)
    return InvalidInput(f"invalid {what}: {fields}", details=details)


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
        details = validation_details(list(exc.errors()))
        fields = ", ".join(d["field"] for d in details)
        return _respond(InvalidInput(f"invalid request: {fields}", details=details))

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
