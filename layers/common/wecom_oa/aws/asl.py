"""ASL error names for state-machine task handlers: a transient failure gets a name Retry matches.

In a Step Functions Lambda task, Retry/Catch `ErrorEquals` match the exception's class name (Lambda's
`errorType`) exactly, never its bases. The WeCom client raises precise subclasses
(`WeComFrequencyLimited`, `WeComBusy`, …) that no Retry could list one by one, so `asl_task`
re-raises transient errors under the few names below (chained `from` the original, same message and
details) and lets every other error through unchanged: its own name goes to Catch on the first
attempt (`IpNotTrusted`, `UserNotFound`, `InvalidInput`, …).

Names every Lambda Task of statemachines/*.asl.json retries (`RETRIED_NAMES`):

- `UpstreamThrottled`: a rate limit. WeCom 45009 (a window of at least 60 s) and 45033, and any bare
  `UpstreamThrottled` (adapters/dynamo's DynamoDB throttling, the token-refresh wait). Retried with
  backoff capped at 5 minutes for about 50 minutes on average (FULL jitter), so 30 minutes of WeCom
  throttling delay an approval or a ticket timer but fail none.
- `UpstreamUnavailable`: a short outage. WeCom −1 busy, HTTP 5xx, timeouts and network failures
  (every other `WeComRetryable`); botocore throttling/5xx codes and connection errors that reach the
  handler unmapped. Retried the same way, about 55 minutes on average.
- `StaleVersion`, `Conflict`: a concurrent writer won an optimistic-locking race (a bare `Conflict` is
  what a failed conditional write raises). Task handlers re-read on every attempt, so a retry is the
  answer. Retried twice, quickly. Conflict's subclasses (`AlreadyExists`, `IllegalTransition`,
  `TaskIdDuplicate`) keep their names and are not retried.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from wecom_oa.errors import OAError, StaleVersion, UpstreamError, UpstreamThrottled
from wecom_oa.observability import logger
from wecom_oa.wecom.errors import WeComConcurrencyLimited, WeComFrequencyLimited, WeComRetryable


class UpstreamUnavailable(UpstreamError):
    """Retryable: a dependency is briefly unavailable (busy, 5xx, timeout, network, AWS throttling)."""

    status = 503
    code = "upstream_unavailable"


RETRIED_NAMES: tuple[str, ...] = ("UpstreamThrottled", "UpstreamUnavailable", "StaleVersion", "Conflict")

# botocore error codes that mean "try again shortly" (throttling and service-side failures).
AWS_TRANSIENT_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "RequestThrottledException",
    "RequestThrottled", "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "RequestLimitExceeded", "SlowDown", "TransactionConflictException", "TransactionInProgressException",
    "InternalServerError", "InternalServerException", "InternalFailure", "ServiceUnavailable",
    "ServiceUnavailableException",
})


def asl_name(exc: BaseException) -> type[OAError] | None:
    """The class whose name Retry matches for a transient `exc`, or None when `exc` is not transient.

    Decided by type only (never by message text); rate limits are checked before the broader
    `WeComRetryable`, which itself subclasses `UpstreamThrottled`."""
    if isinstance(exc, WeComFrequencyLimited | WeComConcurrencyLimited):
        return UpstreamThrottled
    if isinstance(exc, WeComRetryable | UpstreamUnavailable):
        return UpstreamUnavailable
    if isinstance(exc, UpstreamThrottled):
        return UpstreamThrottled
    if isinstance(exc, StaleVersion):
        return StaleVersion
    if _aws_transient(exc):
        return UpstreamUnavailable
    return None


def for_asl(exc: Exception) -> Exception:
    """`exc` itself, or a new exception named for Retry (same message and details, `__cause__` = exc)."""
    target = asl_name(exc)
    if target is None or type(exc) is target:
        return exc
    renamed = target(exc.message, details=exc.details) if isinstance(exc, OAError) else target(str(exc))
    renamed.__cause__ = exc
    return renamed


# True while a state-machine task runs: its effects are retried by the ASL, so services raise
# transient errors instead of queueing their own retries (messaging/sending.py).
_in_state_machine: contextvars.ContextVar[bool] = contextvars.ContextVar("in_state_machine", default=False)


def in_state_machine() -> bool:
    return _in_state_machine.get()


def asl_task[F: Callable[..., Any]](handler: F) -> F:
    """Decorate a state-machine task handler (inside the powertools decorators): transient errors are
    re-raised under an ASL Retry name, every other error propagates unchanged."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _in_state_machine.set(True)
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            renamed = for_asl(exc)
            if renamed is exc:
                raise
            logger.warning("transient error raised for ASL Retry", extra={
                "error": type(exc).__name__, "asl_error": type(renamed).__name__,
                "errcode": getattr(exc, "errcode", None)})
            raise renamed from exc
        finally:
            _in_state_machine.reset(token)

    return wrapper  # type: ignore[return-value]


def _aws_transient(exc: BaseException) -> bool:
    if isinstance(exc, BotoConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in AWS_TRANSIENT_CODES or int(status) >= 500
    return False
