"""Failed scheduled runs are parked and alarmed, never dropped.

EventBridge Scheduler invokes its targets asynchronously; its RetryPolicy and DeadLetterConfig cover
only failures to invoke. A run that raises goes to Lambda's async retries and, without an on-failure
destination, is then discarded. So every schedule target parks failed runs in a queue with an alarm
on its depth, and the digest function's own failure signals (Errors, DigestDeliveryFailed) alarm too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FOURTEEN_DAYS = 14 * 24 * 3600


def _scheduled_functions() -> list[str]:
    return sorted(k for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"
                  and any(e["Type"] in ("ScheduleV2", "Schedule") for e in v["Properties"].get("Events", {}).values()))


def _alarms() -> list[dict[str, Any]]:
    return [v["Properties"] for v in RESOURCES.values() if v["Type"] == "AWS::CloudWatch::Alarm"]


def _alarms_on(namespace: str, metric: str, dimension: str, value: Any) -> list[dict[str, Any]]:
    return [a for a in _alarms() if a["Namespace"] == namespace and a["MetricName"] == metric
            and {"Name": dimension, "Value": value} in a.get("Dimensions", [])]


def _on_failure_queue(function: str) -> str:
    config = RESOURCES[function]["Properties"].get("EventInvokeConfig") or {}
    on_failure = (config.get("DestinationConfig") or {}).get("OnFailure") or {}
    assert on_failure.get("Type") == "SQS", f"{function}: no SQS on-failure destination"
    return on_failure["Destination"]["Fn::GetAtt"][0]


def _pages_the_operator(alarm: dict[str, Any]) -> bool:
    return alarm["AlarmActions"] == [{"Ref": "AlarmTopic"}] and alarm["ComparisonOperator"] == "GreaterThanThreshold" \
        and alarm["Threshold"] == 0 and alarm.get("TreatMissingData") == "notBreaching"


def test_the_digest_function_is_a_schedule_target() -> None:
    assert "DigestFunction" in _scheduled_functions()


@pytest.mark.parametrize("function", _scheduled_functions())
def test_given_a_scheduled_function_then_failed_runs_are_retried_twice_then_parked(function: str) -> None:
    config = RESOURCES[function]["Properties"]["EventInvokeConfig"]
    queue = RESOURCES[_on_failure_queue(function)]

    assert config["MaximumRetryAttempts"] == 2
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["MessageRetentionPeriod"] == FOURTEEN_DAYS
    assert queue["Properties"].get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in queue["Properties"]
    assert "RedrivePolicy" not in queue["Properties"], "a parking queue is the end of the line"


@pytest.mark.parametrize("function", _scheduled_functions())
def test_given_a_parking_queue_then_its_depth_alarms_to_the_operator(function: str) -> None:
    queue = _on_failure_queue(function)

    [alarm] = _alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName",
                         {"Fn::GetAtt": [queue, "QueueName"]})
    assert _pages_the_operator(alarm)


def test_given_the_digest_function_then_its_errors_alarm_like_the_callback_function() -> None:
    [digest] = _alarms_on("AWS/Lambda", "Errors", "FunctionName", {"Ref": "DigestFunction"})
    [callback] = _alarms_on("AWS/Lambda", "Errors", "FunctionName", {"Ref": "WeComCallbackFunction"})

    assert _pages_the_operator(digest)
    assert {k: digest[k] for k in ("Statistic", "Period", "EvaluationPeriods")} == \
        {k: callback[k] for k in ("Statistic", "Period", "EvaluationPeriods")}


def test_given_the_delivery_failure_metric_then_the_alarm_matches_what_the_code_emits() -> None:
    """Namespace and the `service` dimension come from the shared Metrics object; the metric name from
    digests/service.py. A rename on either side fails here instead of leaving a silent alarm."""
    from wecom_oa.observability import metrics

    source = (ROOT / "layers" / "common" / "wecom_oa" / "digests" / "service.py").read_text(encoding="utf-8")
    emitted = set(re.findall(r'add_metric\(name="(\w+)"', source))
    assert "DigestDeliveryFailed" in emitted

    [alarm] = [a for a in _alarms() if a["MetricName"] == "DigestDeliveryFailed"]
    assert alarm["Namespace"] == metrics.namespace
    assert alarm["Dimensions"] == [{"Name": "service", "Value": metrics.service}]
    assert alarm["Statistic"] == "Sum" and _pages_the_operator(alarm)


def test_given_the_transform_then_the_function_role_may_send_to_its_parking_queue() -> None:
    from tests.static.test_template_and_asl import _transform

    transformed = _transform()["Resources"]
    for function in _scheduled_functions():
        queue = _on_failure_queue(function)
        [config] = [v["Properties"] for v in transformed.values() if v["Type"] == "AWS::Lambda::EventInvokeConfig"
                    and v["Properties"]["FunctionName"] == {"Ref": function}]
        assert config["Qualifier"] == "$LATEST"  # the schedules target the unqualified function ARN
        role = transformed[function]["Properties"]["Role"]["Fn::GetAtt"][0]
        statements = [s for p in transformed[role]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
        assert any("sqs:SendMessage" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
                   and s["Resource"] == {"Fn::GetAtt": [queue, "Arn"]} for s in statements), role


def test_given_the_local_stack_then_it_deploys_with_the_parking_queue(local_stack) -> None:
    url = local_stack.physical[_on_failure_queue("DigestFunction")]["Ref"]

    attributes = local_stack.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])["Attributes"]

    assert int(attributes["MessageRetentionPeriod"]) == FOURTEEN_DAYS
    assert {s.function for s in local_stack.schedules.values()} == set(_scheduled_functions())
