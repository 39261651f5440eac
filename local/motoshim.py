"""Every patch of moto internals, in one place (moto==5.2.5; see tests/unit/test_motoshim_canary.py).

1. Lambda: `LambdaSimpleBackend.invoke` dispatches to our real Python handlers by function name
   (the registry below) instead of echoing the payload. An exception becomes a function error
   `{"errorType": <class name>, "errorMessage": ...}`, so ASL Retry/Catch match our error names as
   they do on AWS. An unknown function name is an error, not a silent echo.
2. Time: Wait states, task-token timeouts and retry intervals run on the process clock
   (`wecom_oa.clock`): with a virtual clock (LOCAL_TIME_SCALE=0.001) a 1-hour Wait takes 3.6 s.
   Timestamp waits compare against the clock's UTC now, which also removes moto's dependency on
   the process timezone (it subtracted a naive local `datetime.now()`).

3. DynamoDB atomicity: moto 5.2.5 does not serialise requests, so two concurrent conditional
   writes can both succeed and a failed transaction restores a table snapshot over a concurrent
   write. `DynamoHandler.call_action` runs under one lock, giving each request the atomicity a
   DynamoDB request has (read-then-write races between requests stay possible, as on AWS).

Attribution: `invoke_local` is the one door every handler goes through (Lambda tasks, HTTP routes,
queue workers, schedules), so `current_function()` names the template function whose handler runs
in this thread (tests/integration/test_iam_sufficiency.py attributes boto3 calls with it). moto's
execution threads start with an empty context: calls made by Step Functions itself are unattributed.

`install()` is idempotent. The patched names are checked by the canary test so a moto upgrade
fails loudly instead of silently running timers in real time.
"""

from __future__ import annotations

import contextvars
import json
import math
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from datetime import UTC
from typing import Any

from local.clock import is_stepped
from wecom_oa.clock import get_clock

Handler = Callable[[dict[str, Any], Any], Any]

_registry: dict[str, Handler] = {}
_installed = False
_lock = threading.Lock()
_dynamodb_lock = threading.RLock()
_current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("current_function", default=None)
_in_flight = 0  # handlers running now (the stepped clock's quietness check reads it)
_in_flight_lock = threading.Lock()

# Executions are allowed to run (clock permitting); a test may flip this to fail any Lambda call.
ACCOUNT_ID = "123456789012"


class LocalLambdaContext:
    """The attributes powertools and our handlers read from a Lambda context."""

    def __init__(self, function_name: str, region: str, timeout_s: int = 30) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def register(function_name: str, handler: Handler) -> None:
    _registry[function_name] = handler


def registered() -> dict[str, Handler]:
    return dict(_registry)


def clear_registry() -> None:
    _registry.clear()


def current_function() -> str | None:
    """Logical id of the template function whose handler is running in this context, else None."""
    return _current_function.get()


def in_flight() -> int:
    """How many handlers are running now."""
    with _in_flight_lock:
        return _in_flight


def _count_in_flight(delta: int) -> None:
    global _in_flight
    with _in_flight_lock:
        _in_flight += delta
    clock = get_clock()
    if is_stepped(clock):
        clock.bump()


def invoke_local(function_name: str, event: Any, region: str = "us-east-1") -> tuple[Any, bool]:
    """Run a registered handler: (result, is_error). Shared by the moto patch and the local runner."""
    name = function_name.rsplit(":", 1)[-1]
    handler = _registry.get(name)
    if handler is None:
        return {"errorType": "ResourceNotFoundException", "errorMessage": f"Function not found: {name}"}, True
    token = _current_function.set(name)
    _count_in_flight(+1)
    try:
        return handler(event, LocalLambdaContext(name, region)), False
    except Exception as exc:  # noqa: BLE001 - mirrors Lambda: any exception is a function error
        return {
            "errorType": type(exc).__name__,
            "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)[-3:],
        }, True
    finally:
        _count_in_flight(-1)
        _current_function.reset(token)


def _patched_invoke(self: Any, function_name: str, qualifier: Any, body: Any, headers: Any,
                    response_headers: Any) -> bytes:
    raw = body.decode() if isinstance(body, bytes | bytearray) else (body or "{}")
    event = json.loads(raw) if raw else {}
    result, is_error = invoke_local(function_name, event, getattr(self, "region_name", "us-east-1"))
    if is_error:
        response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps(result, default=str).encode()


def _patched_wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
    clock = get_clock()
    if is_stepped(clock):
        clock.block(wait_seconds, alive=env.is_running)
        return
    deadline = time.monotonic() + _real(wait_seconds)
    while env.is_running():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        env.program_state_event.wait(min(remaining, 0.5))


def _patched_timestamp_wait_seconds(self: Any, env: Any) -> int:
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEventException,
    )

    self.string.eval(env=env)
    timestamp_str: str = env.stack.pop()
    timestamp = self._from_timestamp_string(timestamp=timestamp_str)
    if timestamp is None:
        raise FailureEventException(self._create_failure_event(env, timestamp_str))
    delta = timestamp.replace(tzinfo=UTC) - get_clock().now()
    # Rounded up: after a jittered retry the clock sits between seconds, and a wait truncated to 0
    # would wake the task before its timestamp, again and again (a stepped clock never moves then).
    return max(0, math.ceil(delta.total_seconds()))


def _real(seconds: float) -> float:
    clock = get_clock()
    scale = getattr(clock, "real_seconds", None)
    return scale(seconds) if scale else seconds


STOP_WAIT_SECONDS = 5.0


def _patched_worker_stop(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
    """moto's worker builds its `env` on its own thread: StopExecution right after StartExecution
    found `env` None and failed (AttributeError → HTTP 500). Wait for it, briefly."""
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while self.env is None and time.monotonic() < deadline:
        time.sleep(0.005)
    if self.env is not None:
        self.env.set_stop(stop_date=stop_date, cause=cause, error=error)


class _ScaledTime:
    """Stands in for the `time` module inside moto's retrier: sleeps run on the process clock."""

    @staticmethod
    def sleep(seconds: float) -> None:
        clock = get_clock()
        if is_stepped(clock):
            clock.block(seconds)
        else:
            time.sleep(_real(seconds))

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.awslambda_simple import models as lambda_simple
        from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function import timestamp, wait_function
        from moto.stepfunctions.parser.asl.eval.callback import callback

        lambda_simple.LambdaSimpleBackend.invoke = _patched_invoke
        wait_function.WaitFunction._wait_interval = _patched_wait_interval
        timestamp.Timestamp._get_wait_seconds = _patched_timestamp_wait_seconds
        retrier_decl.time = _ScaledTime()
        original_wait = callback.CallbackEndpoint.wait

        def scaled_callback_wait(self: Any, timeout: float | None = None) -> Any:
            return original_wait(self, timeout=None if timeout is None else _real(timeout))

        callback.CallbackEndpoint.wait = scaled_callback_wait

        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
            state_task_service_callback as service_callback,
        )

        task_cls = service_callback.StateTaskServiceCallback
        original_token_wait = task_cls._eval_wait_for_task_token

        def stepped_token_wait(self: Any, env: Any, timeout_seconds: int, callback_endpoint: Any,
                               heartbeat_endpoint: Any) -> Any:
            clock = get_clock()
            if not is_stepped(clock) or heartbeat_endpoint is not None:
                return original_token_wait(self, env, timeout_seconds, callback_endpoint, heartbeat_endpoint)
            notified = callback_endpoint._notify_event
            clock.block(timeout_seconds, alive=lambda: env.is_running() and not notified.is_set())
            outcome = callback_endpoint.get_outcome()
            return outcome if outcome is not None else callback.CallbackOutcomeTimedOut(
                callback_id=callback_endpoint.callback_id)

        task_cls._eval_wait_for_task_token = stepped_token_wait

        from moto.dynamodb.responses import DynamoHandler

        original_call_action = DynamoHandler.call_action

        def atomic_call_action(self: Any) -> Any:
            with _dynamodb_lock:
                return original_call_action(self)

        DynamoHandler.call_action = atomic_call_action

        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        ExecutionWorker.stop = _patched_worker_stop
        _installed = True


MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
