"""Typed errors, mapped once: to HTTP in `wecom_oa.http`, to ASL error names by class name.

In a Step Functions Lambda task the error name seen by Retry/Catch is the exception's class name
(`errorType`), so the names below are part of the state machines' contract: rename with care.
Messages are written for the caller: they name the problem and never carry secrets.
"""

from __future__ import annotations

from typing import Any, ClassVar


class OAError(Exception):
    """Base of every error the application raises on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(OAError):
    """The caller sent something malformed or out of range. `details` names the fields."""

    status = 400
    code = "invalid_input"


class InputLimitExceeded(InvalidInput):
    """The request breaks one of the input limits (`wecom_oa.api.LIMITS`): too deep, too
    long, too many. `details` has `limit` (its name), `max` and `where`."""

    code = "limit_exceeded"


class Unauthorized(OAError):
    status = 401
    code = "unauthorized"


class Forbidden(OAError):
    """Authenticated but not allowed, or a callback that failed verification."""

    status = 403
    code = "forbidden"


class NotFound(OAError):
    status = 404
    code = "not_found"


class Conflict(OAError):
    """The request clashes with the current state (duplicate id, illegal transition)."""

    status = 409
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"


class StaleVersion(Conflict):
    """Optimistic locking failed: somebody else changed the item first."""

    code = "stale_version"


class IllegalTransition(Conflict):
    code = "illegal_transition"


class PayloadTooLarge(OAError):
    status = 413
    code = "payload_too_large"


class UpstreamError(OAError):
    """A dependency (WeCom, an AWS service) failed in a way the caller cannot fix."""

    status = 502
    code = "upstream_error"


class UpstreamThrottled(UpstreamError):
    """Retryable: the dependency asked us to slow down. ASL Retry matches this name."""

    status = 503
    code = "upstream_throttled"


class ConfigurationError(OAError):
    """The deployment is misconfigured (missing secret, bad rule file). An operator must act."""

    status = 500
    code = "configuration_error"
