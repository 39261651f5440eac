"""Canaries for every moto internal that local/motoshim.py patches (moto==5.2.5).

If a moto upgrade renames or changes one of them, these fail loudly instead of letting timers run
in real time or Lambda tasks silently echo their input."""

from __future__ import annotations

import inspect
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from local import motoshim
from wecom_oa.clock import VirtualClock, set_clock


def test_patched_moto_internals_still_exist_with_the_expected_signatures() -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    assert list(inspect.signature(LambdaSimpleBackend.invoke).parameters) == [
        "self", "function_name", "qualifier", "body", "headers", "response_headers"]
    assert list(inspect.signature(WaitFunction._wait_interval).parameters) == ["self", "env", "wait_seconds"]
    assert list(inspect.signature(Timestamp._get_wait_seconds).parameters) == ["self", "env"]
    assert hasattr(Timestamp, "_from_timestamp_string") and hasattr(Timestamp, "_create_failure_event")
    assert "timeout" in inspect.signature(CallbackEndpoint.wait).parameters
    assert hasattr(retrier_decl, "time")
    from moto.dynamodb.responses import DynamoHandler

    assert list(inspect.signature(DynamoHandler.call_action).parameters) == ["self"]
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    assert list(inspect.signature(ExecutionWorker.stop).parameters) == ["self", "stop_date", "error", "cause"]


def _run(sfn, definition: dict, payload: dict) -> dict:
    arn = sfn.create_state_machine(name=f"canary-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input=json.dumps(payload))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        desc = sfn.describe_execution(executionArn=ex["executionArn"])
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.02)
    raise AssertionError("execution still running after 10 s: a time patch is not effective")


@pytest.fixture
def sfn():
    with mock_aws(config=motoshim.MOTO_CONFIG):
        motoshim.install()
        yield boto3.client("stepfunctions", region_name="us-east-1")
        motoshim.clear_registry()
        set_clock(None)


def test_lambda_task_runs_registered_python_handler_and_errors_keep_their_class_name(sfn) -> None:
    class Boom(Exception):
        pass

    def double(event, context):
        if event.get("fail"):
            raise Boom("no")
        return {"v": event["v"] * 2, "fn": context.function_name}

    motoshim.register("doubler", double)
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:doubler", "Payload.$": "$"},
        "ResultSelector": {"r.$": "$.Payload"},
        "Catch": [{"ErrorEquals": ["Boom"], "ResultPath": "$.err", "Next": "Caught"}], "End": True},
        "Caught": {"Type": "Pass", "End": True}}}
    ok = _run(sfn, definition, {"v": 21})
    assert json.loads(ok["output"]) == {"r": {"v": 42, "fn": "doubler"}}
    caught = _run(sfn, definition, {"v": 1, "fail": True})
    assert json.loads(caught["output"])["err"]["Error"] == "Boom"


def test_unknown_function_is_an_error_not_an_echo(sfn) -> None:
    definition = {"StartAt": "T", "States": {"T": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": "nosuchfn", "Payload.$": "$"}, "End": True}}}
    assert _run(sfn, definition, {})["status"] == "FAILED"


def test_waits_timestamps_and_retries_follow_the_virtual_clock(sfn) -> None:
    start = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    set_clock(VirtualClock(start, scale=1e-5))
    calls = {"n": 0}

    def flaky(event, context):
        calls["n"] += 1
        if calls["n"] < 3:
            raise RuntimeError("transient")
        return {"ok": True}

    motoshim.register("flaky", flaky)
    due = (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    definition = {"StartAt": "OneDay", "States": {
        "OneDay": {"Type": "Wait", "Seconds": 86400, "Next": "UntilDue"},
        "UntilDue": {"Type": "Wait", "TimestampPath": "$.due", "Next": "Flaky"},
        "Flaky": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                  "Parameters": {"FunctionName": "flaky", "Payload": {}},
                  "Retry": [{"ErrorEquals": ["RuntimeError"], "IntervalSeconds": 60, "MaxAttempts": 3,
                             "BackoffRate": 2}], "End": True}}}
    t0 = time.monotonic()
    desc = _run(sfn, definition, {"due": due})
    assert desc["status"] == "SUCCEEDED" and calls["n"] == 3
    assert time.monotonic() - t0 < 5


def test_task_token_timeout_follows_the_virtual_clock(sfn) -> None:
    set_clock(VirtualClock(datetime(2026, 11, 23, tzinfo=UTC), scale=1e-4))
    motoshim.register("sink", lambda event, context: {})
    definition = {"StartAt": "Wait", "States": {"Wait": {
        "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "sink", "Payload": {"token.$": "$$.Task.Token"}},
        "TimeoutSeconds": 3600, "End": True}}}
    t0 = time.monotonic()
    desc = _run(sfn, definition, {})
    assert desc["status"] == "FAILED" and desc.get("error") == "States.Timeout"
    assert time.monotonic() - t0 < 5


def test_concurrent_conditional_writes_have_exactly_one_winner() -> None:
    import threading

    with mock_aws():
        motoshim.install()
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(TableName="t", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        for round_ in range(300):  # without the lock, ~1 round in 300 has two winners
            wins: list[int] = []
            barrier = threading.Barrier(4)

            def claim(i: int, key: str = f"k{round_}", barrier: threading.Barrier = barrier,
                      wins: list[int] = wins) -> None:
                barrier.wait()
                try:
                    ddb.put_item(TableName="t", Item={"pk": {"S": key}, "w": {"N": str(i)}},
                                 ConditionExpression="attribute_not_exists(pk)")
                    wins.append(i)
                except ddb.exceptions.ConditionalCheckFailedException:
                    pass

            threads = [threading.Thread(target=claim, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert len(wins) == 1, f"round {round_}: {len(wins)} winners"


def test_given_a_worker_whose_env_is_not_built_yet_when_stopped_then_the_stop_lands_once_it_is(sfn) -> None:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    class _Env:
        stopped: dict | None = None

        def set_stop(self, **kwargs: object) -> None:
            self.stopped = kwargs

    worker = ExecutionWorker.__new__(ExecutionWorker)
    worker.env = None
    env = _Env()
    import threading

    threading.Timer(0.05, lambda: setattr(worker, "env", env)).start()  # the worker thread, a moment late
    worker.stop(stop_date=datetime.now(UTC), error="", cause="")  # unpatched moto: AttributeError on None

    assert env.stopped is not None and env.stopped["error"] == ""


def test_given_an_execution_when_stopped_right_after_start_then_it_is_aborted(sfn) -> None:
    definition = {"StartAt": "Hold", "States": {"Hold": {"Type": "Wait", "Seconds": 3600, "End": True}}}
    arn = sfn.create_state_machine(name=f"canary-{uuid.uuid4().hex[:8]}", definition=json.dumps(definition),
                                   roleArn="arn:aws:iam::123456789012:role/x")["stateMachineArn"]
    for _ in range(20):
        ex = sfn.start_execution(stateMachineArn=arn, name=uuid.uuid4().hex, input="{}")
        sfn.stop_execution(executionArn=ex["executionArn"])  # unpatched moto: sometimes HTTP 500
        deadline = time.monotonic() + 5
        while sfn.describe_execution(executionArn=ex["executionArn"])["status"] == "RUNNING":
            assert time.monotonic() < deadline, "the stopped execution kept running"
            time.sleep(0.01)
        assert sfn.describe_execution(executionArn=ex["executionArn"])["status"] == "ABORTED"
