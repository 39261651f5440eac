"""WeCom `errcode` → typed exceptions (subclasses of `wecom_oa.errors`), mapped once in `error_for`.

Families (class names are ASL error names; rename with care):

- retryable → `WeComRetryable(UpstreamThrottled)`: −1 busy, 45009 frequency, 45033 concurrency,
  HTTP 5xx, timeouts and network failures;
- token invalid → `WeComTokenInvalid(UpstreamError)`: 40014, 42001, 41001 (the client refreshes once);
- configuration → `WeComConfigError(ConfigurationError)`: 40001, 40013, 40056, 40091, 41004, 48002,
  60011, 60020, 301002, 301055 and 93000 (`RobotWebhookInvalid`), each with an operator hint;
- data → `WeComDataError(InvalidInput)`: 60111, 60123, 40068, 81013, 82001, 86001, 86003;
- 42014 → `TaskIdDuplicate(Conflict)`; 45002 → `ContentTooLarge(PayloadTooLarge)`;
- 9990501 → `SandboxNotImplemented(WeComError)`: never sent by WeCom; the local sandbox answers it
  (with HTTP 501) for an API it does not implement. Neither retryable nor a configuration error, so
  a send is not retried or parked as if WeCom were misconfigured: the code needs the sandbox to
  grow that API (local/sandbox/errcodes.py);
- anything else → `WeComError(UpstreamError)`.

Every instance carries `errcode` and `api` (the path, never the query string). Messages never carry
the access token, the secret or a robot key: `errmsg` is scrubbed of `key=`/`access_token=`-like
values before it is kept.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from wecom_oa.errors import (
    ConfigurationError,
    Conflict,
    InvalidInput,
    NotFound,
    OAError,
    PayloadTooLarge,
    UpstreamError,
    UpstreamThrottled,
)

_SECRETISH = re.compile(r"(access_token|corpsecret|secret|key|token)=[^&\s,;]+", re.IGNORECASE)
_MAX_ERRMSG = 200


def scrub(text: str) -> str:
    """`errmsg` made safe to keep: credential-looking query values masked, length bounded."""
    return _SECRETISH.sub(lambda m: f"{m.group(1)}=***", text)[:_MAX_ERRMSG]


class WeComCoded:
    """Mixin: the WeCom errcode, the API path and the scrubbed errmsg of a failed call."""

    hint: ClassVar[str] = ""
    retry_in_process: ClassVar[bool] = False

    def __init__(self, message: str, *, errcode: int | None = None, api: str = "", errmsg: str = "",
                 details: Any = None) -> None:
        self.errcode = errcode
        self.api = api
        self.errmsg = scrub(errmsg)
        base_details = {"errcode": errcode, "api": api} if errcode is not None else {"api": api}
        super().__init__(message, details=details if details is not None else base_details)  # type: ignore[call-arg]


class WeComError(WeComCoded, UpstreamError):
    """A WeCom call failed with an errcode this module has no better class for."""

    code = "wecom_error"


class WeComRetryable(WeComCoded, UpstreamThrottled):
    """Transient: retry later with backoff. `retry_after` is a floor in seconds."""

    code = "wecom_retryable"
    retry_in_process = True
    retry_after: ClassVar[float] = 0.0


class WeComBusy(WeComRetryable):
    """errcode −1: system busy."""


class WeComConcurrencyLimited(WeComRetryable):
    """errcode 45033: too many concurrent calls; back off with jitter."""


class WeComFrequencyLimited(WeComRetryable):
    """errcode 45009: a frequency window is exhausted. Not retried in-process: the window is ≥ 60 s,
    so the caller (ASL Retry, the queue) waits instead of a Lambda sleeping."""

    retry_in_process = False
    retry_after = 60.0


class WeComServerError(WeComRetryable):
    """HTTP 5xx from WeCom. Retried in-process only for idempotent calls (the send may have happened)."""


class WeComTimeout(WeComRetryable):
    """Timeout or network failure. Retried in-process only when the request never left or is idempotent."""


class WeComTokenInvalid(WeComError):
    """40014 invalid / 42001 expired / 41001 missing access_token: refresh once, retry once."""

    code = "wecom_token_invalid"


class WeComConfigError(WeComCoded, ConfigurationError):
    """The app, secret, permissions or network setup is wrong; an operator must act. Never retried."""

    code = "wecom_configuration_error"


class InvalidSecret(WeComConfigError):
    hint = "the app secret is wrong or belongs to another app/corp: check corp_secret in the WeCom secret"


class InvalidCorpId(WeComConfigError):
    hint = "WECOM_CORP_ID is not a valid CorpID (企业ID in 我的企业 → 企业信息)"


class InvalidAgentId(WeComConfigError):
    hint = "WECOM_AGENT_ID does not match the app whose secret is configured"


class ApiForbidden(WeComConfigError):
    hint = "the app is not allowed to call this API: grant the permission in the WeCom admin console"


class NoPrivilege(WeComConfigError):
    hint = ("the app cannot see this member/department/tag: widen the app's visible range "
            "(app group chats need the root department)")


class IpNotTrusted(WeComConfigError):
    hint = ("the caller IP is not in the app's 企业可信IP list: register the NAT gateway's Elastic IP "
            "(changes take about a minute)")


class AppPermissionDenied(WeComConfigError):
    hint = "no permission on the specified app (301002): check the app configured for this call"


class ApprovalPermissionDenied(WeComConfigError):
    hint = ("add this app to 审批 → 可调用接口的应用 and make sure the submitter is within its visible "
            "range (the 审批 system secret cannot be used)")


class RobotWebhookInvalid(WeComConfigError):
    hint = "the group-robot webhook key is invalid or the robot was removed: configure a new key"


class WeComDataError(WeComCoded, InvalidInput):
    """The request names data WeCom does not know (users, chats). Not retried."""

    code = "wecom_invalid_data"


class UserNotFound(WeComDataError):
    """60111: userid not found."""


class AllRecipientsInvalid(WeComDataError):
    """81013: every recipient is invalid or outside the app's visible range."""


class RecipientsInvalid(WeComDataError):
    """82001: every specified member/department/tag is invalid."""


class DepartmentNotFound(WeComDataError):
    """60123: invalid department id."""


class TagNotFound(WeComDataError):
    """40068: invalid tag id."""


class ChatNotFound(WeComDataError):
    """86001 / 86003: invalid or unknown chatid (only chats created by this app can be used)."""


class TaskIdDuplicate(WeComCoded, Conflict):
    """42014: template-card task_id reused, empty or longer than 128 bytes."""

    code = "wecom_task_id_duplicate"


class ContentTooLarge(WeComCoded, PayloadTooLarge):
    """45002 or a local size check: message content exceeds WeCom's byte limit."""

    code = "wecom_content_too_large"


SANDBOX_NOT_IMPLEMENTED = 9990501  # sandbox-only errcode; WeCom's own codes have at most six digits


class SandboxNotImplemented(WeComError):
    """9990501: the local WeCom sandbox does not implement this API (never a real WeCom answer)."""

    code = "wecom_sandbox_not_implemented"
    hint = ("the local WeCom sandbox does not implement this API: add it to local/sandbox/wecom_api.py "
            "(this is not a WeCom permission or configuration problem)")


class WeComNotFound(WeComCoded, NotFound):
    """A lookup returned nothing usable (e.g. unknown tag name)."""

    code = "wecom_not_found"


_BY_CODE: dict[int, type[OAError]] = {
    -1: WeComBusy,
    45009: WeComFrequencyLimited,
    45033: WeComConcurrencyLimited,
    40014: WeComTokenInvalid,
    42001: WeComTokenInvalid,
    41001: WeComTokenInvalid,
    40001: InvalidSecret,
    40091: InvalidSecret,
    41004: InvalidSecret,
    40013: InvalidCorpId,
    40056: InvalidAgentId,
    48002: ApiForbidden,
    60011: NoPrivilege,
    60020: IpNotTrusted,
    301002: AppPermissionDenied,
    301055: ApprovalPermissionDenied,
    93000: RobotWebhookInvalid,
    60111: UserNotFound,
    81013: AllRecipientsInvalid,
    82001: RecipientsInvalid,
    60123: DepartmentNotFound,
    40068: TagNotFound,
    86001: ChatNotFound,
    86003: ChatNotFound,
    42014: TaskIdDuplicate,
    45002: ContentTooLarge,
    SANDBOX_NOT_IMPLEMENTED: SandboxNotImplemented,
}


def error_class(errcode: int) -> type[OAError]:
    return _BY_CODE.get(errcode, WeComError)


def error_for(errcode: int, errmsg: str, api: str) -> OAError:
    """The typed exception for a non-zero errcode returned by `api` (a path without query)."""
    cls = error_class(errcode)
    hint = getattr(cls, "hint", "")
    message = f"WeCom {api} failed with errcode {errcode}"
    if hint:
        message += f": {hint}"
    return cls(message, errcode=errcode, api=api, errmsg=errmsg)  # type: ignore[call-arg]


def is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, WeComRetryable)
