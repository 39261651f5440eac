"""wecom_oa.aws.asl: transient errors leave a state-machine task under the names ASL Retry lists (matched by
class name, exactly); every other error keeps its own name and goes to Catch."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from local.motoshim import LocalLambdaContext
from wecom_oa.aws import asl
from wecom_oa.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    NotFound,
    StaleVersion,
    UpstreamError,
    UpstreamThrottled,
)
from wecom_oa.wecom import errors as we

API = "message/send"


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "PutItem")


class _Stale(StaleVersion):
    """A StaleVersion subclass, as an adapter might define."""


TRANSIENT = {
    "45009 frequency": (lambda: we.error_for(45009, "api freq out of limit", API), "UpstreamThrottled"),
    "45033 concurrency": (lambda: we.error_for(45033, "api concurrent out of limit", API), "UpstreamThrottled"),
    "-1 busy": (lambda: we.error_for(-1, "system busy", API), "UpstreamUnavailable"),
    "http 5xx": (lambda: we.WeComServerError("WeCom message/send answered HTTP 502", api=API), "UpstreamUnavailable"),
    "timeout": (lambda: we.WeComTimeout("WeCom message/send timed out", api=API), "UpstreamUnavailable"),
    "dynamodb throughput": (lambda: _client_error("ProvisionedThroughputExceededException"), "UpstreamUnavailable"),
    "aws throttling": (lambda: _client_error("ThrottlingException"), "UpstreamUnavailable"),
    "aws 503": (lambda: _client_error("SomethingNew", 503), "UpstreamUnavailable"),
    "aws endpoint down": (lambda: EndpointConnectionError(endpoint_url="https://dynamodb"), "UpstreamUnavailable"),
    "aws read timeout": (lambda: ReadTimeoutError(endpoint_url="https://states"), "UpstreamUnavailable"),
    "stale subclass": (lambda: _Stale("APPROVAL#a1 changed since version 3"), "StaleVersion"),
}

NOT_TRANSIENT = {
    "60020 ip not trusted": lambda: we.error_for(60020, "not allow to access from your ip", API),
    "40001 secret": lambda: we.error_for(40001, "invalid credential", API),
    "301055 approval permission": lambda: we.error_for(301055, "no approval permission", API),
    "60111 user": lambda: we.error_for(60111, "userid not found", API),
    "42014 task id": lambda: we.error_for(42014, "task_id duplicated", API),
    "40014 token": lambda: we.error_for(40014, "invalid access_token", API),
    "unknown errcode": lambda: we.error_for(123456, "new error", API),
    "invalid input": lambda: InvalidInput("stage: must be ≥ 1"),
    "not found": lambda: NotFound("approval a1"),
    "already exists": lambda: AlreadyExists("card a1-1-1-0"),
    "aws access denied": lambda: _client_error("AccessDeniedException", 400),
    "aws validation": lambda: _client_error("ValidationException", 400),
    "plain bug": lambda: KeyError("stage"),
}


def _raising(exc: BaseException):
    @asl.asl_task
    def handler(event: dict, context: object) -> dict:
        raise exc

    return handler


@pytest.mark.parametrize("case", sorted(TRANSIENT))
def test_given_a_transient_error_when_the_task_raises_it_then_it_leaves_under_its_asl_name(case: str) -> None:
    make, name = TRANSIENT[case]
    original = make()

    with pytest.raises(Exception) as info:
        _raising(original)({}, None)

    assert type(info.value).__name__ == name
    assert name in asl.RETRIED_NAMES
    assert info.value.__cause__ is original
    expected_message = original.message if hasattr(original, "message") else str(original)
    assert str(info.value) == expected_message


@pytest.mark.parametrize("case", sorted(NOT_TRANSIENT))
def test_given_a_non_transient_error_when_the_task_raises_it_then_it_propagates_unchanged(case: str) -> None:
    original = NOT_TRANSIENT[case]()

    with pytest.raises(BaseException) as info:
        _raising(original)({}, None)

    assert info.value is original
    assert type(info.value).__name__ not in asl.RETRIED_NAMES


@pytest.mark.parametrize("exc", [UpstreamThrottled("token refresh wait"), asl.UpstreamUnavailable("busy"),
                                 StaleVersion("APPROVAL#a1 changed"), Conflict("not in the expected state")],
                         ids=lambda e: type(e).__name__)
def test_given_an_error_already_named_for_retry_then_it_propagates_itself(exc: Exception) -> None:
    with pytest.raises(type(exc)) as info:
        _raising(exc)({}, None)

    assert info.value is exc and type(exc).__name__ in asl.RETRIED_NAMES


def test_given_a_wecom_rate_limit_then_the_renamed_error_keeps_errcode_and_api_but_no_secret() -> None:
    original = we.error_for(45009, "api freq out of limit, access_token=tok-SECRET-123&debug=1", API)

    renamed = asl.for_asl(original)

    assert isinstance(renamed, UpstreamThrottled) and type(renamed) is UpstreamThrottled
    assert renamed.details == {"errcode": 45009, "api": API}
    assert renamed.to_body()["error"]["message"] == original.message
    assert "tok-SECRET-123" not in f"{renamed} {renamed.to_body()!r}"


def test_given_a_renamed_error_then_it_stays_in_the_upstream_family_for_http_mapping() -> None:
    unavailable = asl.for_asl(we.error_for(-1, "system busy", API))

    assert isinstance(unavailable, UpstreamError) and unavailable.status == 503
    assert unavailable.code == "upstream_unavailable"


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_given_the_ticket_timer_handler_under_powertools_when_wecom_says_45009_then_upstream_throttled(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.ticket_escalation import app

    def check(ticket_id: str, generation: int) -> dict:
        raise we.error_for(45009, "api freq out of limit", API)

    monkeypatch.setattr(app, "check", check)

    with pytest.raises(UpstreamThrottled) as info:
        app.lambda_handler({"ticket_id": "T1", "generation": 1}, LocalLambdaContext("ticket-escalation", "us-east-1"))

    assert type(info.value).__name__ == "UpstreamThrottled"
    assert isinstance(info.value.__cause__, we.WeComFrequencyLimited)
    assert app.lambda_handler.__name__ == "lambda_handler"


def test_given_a_config_error_in_the_notifier_handler_then_its_own_name_reaches_catch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.notifier import app

    def dispatch(task: object) -> dict:
        raise we.error_for(60020, "not allow to access from your ip", API)

    monkeypatch.setattr(app.notifier, "dispatch", dispatch)
    event = {"action": "approval_outcome", "approval_id": "a1"}

    with pytest.raises(we.IpNotTrusted) as info:
        app.lambda_handler(event, LocalLambdaContext("notifier", "us-east-1"))

    assert type(info.value).__name__ == "IpNotTrusted"
