"""Least privilege, logs and flood protection in the template (issue 12 points 5 and 6).

- The internet-facing callback's role reaches only its own dedup records (dynamodb:LeadingKeys on the
  prefix of `Keys.callback_event`) and cannot delete.
- Every function logs to a log group of the stack, and every log group keeps LogRetentionDays; the
  HTTP API writes access logs to one of them.
- The callback routes have throttles of their own and the callback function reserved concurrency;
  the other routes keep the default throttle.
- A parked outbound send pages the operator; a retried one does not.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from tests.static.test_template_and_asl import _transform

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
CLOUDWATCH_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                             2557, 2922, 3288, 3653]
CALLBACK_ROUTES = ("POST /wecom/callback", "GET /wecom/callback")


def _of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in RESOURCES.items() if v["Type"] == kind}


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return _transform()


def _statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for p in template["Resources"][role]["Properties"].get("Policies", [])
            for s in p["PolicyDocument"]["Statement"]]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


# ------------------------------------------------------------------------------ callback role
def test_given_the_callback_role_then_it_reaches_only_its_own_records_and_cannot_delete(
        transformed: dict[str, Any]) -> None:
    from wecom_oa.aws.dynamo import Keys

    role = transformed["Resources"]["WeComCallbackFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    dynamo = [s for s in _statements(transformed, role) if any(a.startswith("dynamodb:") for a in _actions(s))]
    prefix = Keys.callback_event("KEY")["pk"].removesuffix("KEY")

    assert dynamo, "the callback stores its dedup records"
    for statement in dynamo:
        assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}*"]}}
        assert not {a.split(":")[1] for a in _actions(statement)} & {"DeleteItem", "BatchWriteItem", "Query", "Scan"}
        assert "*" not in str(statement["Resource"]), "the table, not its indexes or others"


def test_given_the_callback_service_then_every_item_it_writes_is_a_callback_record() -> None:
    """The service spells its keys with Keys.callback_event only: another key builder there would be
    refused by the role's LeadingKeys condition (the IAM sufficiency test catches it at run time)."""
    source = (ROOT / "layers" / "common" / "wecom_oa" / "wecom" / "callbacks.py").read_text(encoding="utf-8")
    assert set(re.findall(r"Keys\.(\w+)\(", source)) == {"callback_event"}


# ------------------------------------------------------------------------------ logs
def test_given_the_retention_parameter_then_it_offers_cloudwatchs_values_with_a_default() -> None:
    spec = TEMPLATE["Parameters"]["LogRetentionDays"]
    assert spec["Type"] == "Number"
    assert spec["AllowedValues"] == CLOUDWATCH_RETENTION_DAYS
    assert spec["Default"] in CLOUDWATCH_RETENTION_DAYS


@pytest.mark.parametrize("function", sorted(_of_type("AWS::Serverless::Function")))
def test_given_a_function_then_it_logs_to_a_log_group_of_its_own(function: str) -> None:
    group = RESOURCES[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
    others = [f for f, v in _of_type("AWS::Serverless::Function").items()
              if f != function and v["Properties"]["LoggingConfig"]["LogGroup"] == {"Ref": group}]
    assert RESOURCES[group]["Type"] == "AWS::Logs::LogGroup"
    assert others == []


@pytest.mark.parametrize("group", sorted(_of_type("AWS::Logs::LogGroup")))
def test_given_a_log_group_then_it_keeps_events_for_the_retention_parameter(group: str) -> None:
    props = RESOURCES[group]["Properties"]
    assert props["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert "${AWS::StackName}" in props["LogGroupName"]["Fn::Sub"]


def test_given_the_transform_then_every_function_and_the_api_stage_log_to_retained_groups(
        transformed: dict[str, Any]) -> None:
    resources = transformed["Resources"]
    groups = {k for k, v in resources.items() if v["Type"] == "AWS::Logs::LogGroup"}
    for logical_id, res in resources.items():
        if res["Type"] == "AWS::Lambda::Function":
            assert res["Properties"]["LoggingConfig"]["LogGroup"]["Ref"] in groups, logical_id
    [stage] = [v["Properties"] for v in resources.values() if v["Type"] == "AWS::ApiGatewayV2::Stage"]
    settings = stage["AccessLogSettings"]
    assert settings["DestinationArn"]["Fn::GetAtt"][0] in groups
    for field in ("$context.requestId", "$context.routeKey", "$context.status", "$context.identity.sourceIp"):
        assert field in settings["Format"], field
    assert not [v for v in resources.values() if v["Type"] == "AWS::StepFunctions::StateMachine"
                and "LoggingConfiguration" in v["Properties"]], "state machine logs need a retained group too"


# ------------------------------------------------------------------------------ flood protection
def test_given_the_callback_routes_then_they_have_throttles_of_their_own(transformed: dict[str, Any]) -> None:
    [stage] = [v["Properties"] for v in transformed["Resources"].values() if v["Type"] == "AWS::ApiGatewayV2::Stage"]
    default = stage["DefaultRouteSettings"]
    routes = stage["RouteSettings"]

    assert set(routes) == set(CALLBACK_ROUTES), "other routes keep the default throttle"
    assert default["ThrottlingRateLimit"] > 0 and default["ThrottlingBurstLimit"] > 0
    for route in CALLBACK_ROUTES:
        assert 0 < routes[route]["ThrottlingRateLimit"] <= routes[route]["ThrottlingBurstLimit"], route
    events = RESOURCES["WeComCallbackFunction"]["Properties"]["Events"].values()
    assert {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events} == set(CALLBACK_ROUTES)


def test_given_the_callback_function_then_its_concurrency_is_reserved_by_a_parameter() -> None:
    spec = TEMPLATE["Parameters"]["CallbackReservedConcurrency"]
    reserved = RESOURCES["WeComCallbackFunction"]["Properties"]["ReservedConcurrentExecutions"]

    assert spec["Type"] == "Number" and 0 < spec["Default"] <= 20
    assert reserved == {"Fn::If": ["ReserveCallbackConcurrency", {"Ref": "CallbackReservedConcurrency"},
                                   {"Ref": "AWS::NoValue"}]}
    assert TEMPLATE["Conditions"]["ReserveCallbackConcurrency"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "CallbackReservedConcurrency"}, "0"]}]}
    others = [k for k, v in _of_type("AWS::Serverless::Function").items()
              if k != "WeComCallbackFunction" and "ReservedConcurrentExecutions" in v["Properties"]]
    assert others == []


# ------------------------------------------------------------------------------ alarms
def _alarms_on(metric: str) -> list[dict[str, Any]]:
    return [v["Properties"] for v in _of_type("AWS::CloudWatch::Alarm").values() if v["Properties"]["MetricName"] == metric]


def test_given_a_parked_outbound_send_then_the_operator_is_paged() -> None:
    """Namespace and `service` come from the shared Metrics object, the metric from the code."""
    from wecom_oa.observability import metrics

    package = ROOT / "layers" / "common" / "wecom_oa"
    emitted = {m for f in package.rglob("*.py") for m in re.findall(r'add_metric\(name="(\w+)"', f.read_text(encoding="utf-8"))}
    assert "SendParked" in emitted

    [alarm] = _alarms_on("SendParked")
    assert RESOURCES["OutboundSendParkedAlarm"]["Properties"] == alarm
    assert alarm["Namespace"] == metrics.namespace
    assert alarm["Dimensions"] == [{"Name": "service", "Value": metrics.service}]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}]


def test_given_a_retried_send_then_no_alarm_fires() -> None:
    assert _alarms_on("SendRetried") == []


def test_given_the_callback_window_parameter_then_the_callback_function_reads_it_within_the_settings_bounds(
        transformed: dict[str, Any]) -> None:
    from wecom_oa.settings import Settings

    parameter = TEMPLATE["Parameters"]["CallbackTimestampWindowSeconds"]
    env = transformed["Resources"]["WeComCallbackFunction"]["Properties"]["Environment"]["Variables"]

    assert env["CALLBACK_TIMESTAMP_WINDOW_SECONDS"] == {"Ref": "CallbackTimestampWindowSeconds"}
    assert "TABLE_NAME" in env, "the function's own variables are merged with the globals"
    for value in (parameter["MinValue"], parameter["Default"], parameter["MaxValue"]):
        assert Settings.from_environ({"CALLBACK_TIMESTAMP_WINDOW_SECONDS": str(value)}) \
            .callback_timestamp_window_seconds == value
