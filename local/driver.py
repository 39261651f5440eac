"""Moves local time: the schedule runner of a running clock, and the stepper of a stepped one.

- Running clock (`LOCAL_TIME_SCALE`): `ScheduleRunner` fires each template schedule when the virtual
  clock passes its next fire time.
- Stepped clock (`LOCAL_CLOCK=stepped`): `ClockDriver.advance_to(t)` walks time forward to `t`,
  stopping at every schedule fire time and every timer deadline (Step Functions Wait, task-token
  timeout, retry interval) in order; at each stop it fires what is due and waits until the stack
  is quiet before it takes the next step. `settle()` alone waits for the work an API call started.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from local import motoshim
from local.clock import SteppedClock

SETTLE_LIMIT_SECONDS = 300.0  # a stack that never gets quiet is a bug: say so instead of hanging


class Quiet:
    """Whether the local stack has nothing left to do at the current instant."""

    def __init__(self, stack: Any, clock: SteppedClock) -> None:
        self.stack = stack
        self.clock = clock
        self._sqs = stack.client("sqs")
        self._sfn = stack.client("stepfunctions")
        self._queues = sorted({stack.physical[s.queue_logical_id]["Ref"] for s in stack.queue_sources})
        self._machines = [p["Arn"] for lid, p in stack.physical.items()
                          if stack.resources[lid]["Type"] == "AWS::Serverless::StateMachine"]

    def queued(self) -> int:
        total = 0
        for url in self._queues:
            attrs = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
                "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed"])["Attributes"]
            total += sum(int(v) for v in attrs.values())
        return total

    def running(self) -> int:
        total = 0
        for arn in self._machines:
            pages = self._sfn.get_paginator("list_executions").paginate(stateMachineArn=arn, statusFilter="RUNNING")
            total += sum(len(page["executions"]) for page in pages)
        return total

    def __call__(self) -> bool:
        before = self.clock.activity
        if motoshim.in_flight() or self.queued():
            return False
        if self.running() > self.clock.parked():
            return False
        return motoshim.in_flight() == 0 and self.clock.activity == before


class ClockDriver:
    def __init__(self, stack: Any, clock: SteppedClock) -> None:
        from wecom_oa.digests.schedules import next_fire_time

        self.stack = stack
        self.clock = clock
        self.quiet = Quiet(stack, clock)
        self._next_fire_time = next_fire_time
        self._lock = threading.Lock()
        now = clock.now()
        self.due: dict[str, datetime | None] = {
            name: next_fire_time(s.expression, s.timezone, now) for name, s in stack.schedules.items()}
        self.fired: list[dict[str, Any]] = []

    def settle(self) -> None:
        limit = time.monotonic() + SETTLE_LIMIT_SECONDS
        while not self.quiet() or self.clock.run_due_timers():
            if time.monotonic() > limit:
                raise RuntimeError(f"the local stack did not get quiet within {SETTLE_LIMIT_SECONDS:.0f} s "
                                   f"(in flight {motoshim.in_flight()}, queued {self.quiet.queued()}, "
                                   f"running {self.quiet.running()}, parked {self.clock.parked()})")
            time.sleep(0.01)

    def advance_to(self, target: datetime) -> dict[str, Any]:
        """Walk to `target`; returns the schedules fired on the way and the final time."""
        with self._lock:
            start = self.clock.now()
            fired: list[dict[str, Any]] = []
            self.settle()
            while True:
                now = self.clock.now()
                stops = [target, self.clock.next_deadline(), *self.due.values()]
                step = min(t for t in stops if t is not None)
                self.clock.set(step)
                now = self.clock.now()
                self.clock.run_due_timers()
                for name, at in sorted(self.due.items(), key=lambda kv: (kv[1] is None, kv[1])):
                    if at is not None and at <= now:
                        fired.append(self._fire(name, at))
                        s = self.stack.schedules[name]
                        self.due[name] = self._next_fire_time(s.expression, s.timezone, now)
                self.settle()
                upcoming = self.clock.next_deadline()
                if now >= target and (upcoming is None or upcoming > now) and all(
                        at is None or at > now for at in self.due.values()):
                    break
            self.fired.extend(fired)
            return {"from": start.isoformat(), "now": self.clock.now().isoformat(), "fired": fired}

    def advance(self, seconds: float) -> dict[str, Any]:
        return self.advance_to(self.clock.now() + timedelta(seconds=seconds))

    def _fire(self, name: str, at: datetime, attempt: int = 0) -> dict[str, Any]:
        """Run the schedule; a failed run is retried like Lambda's async invocation (1 and 2 minutes
        later on the clock), then parked in the function's on-failure queue."""
        try:
            result = self.stack.fire(name)
            return {"schedule": name, "at": at.isoformat(), "result": result}
        except Exception as exc:  # noqa: BLE001 - a failed run is reported; the next one still fires
            print(f"schedule {name} failed at {self.clock.now().isoformat()} (attempt {attempt + 1}): {exc}",
                  file=sys.stderr, flush=True)
            if attempt < min(self.stack.async_retries(name), len(self.stack.ASYNC_RETRY_DELAYS)):
                self.clock.call_later(self.stack.ASYNC_RETRY_DELAYS[attempt],
                                      lambda: self._fire(name, at, attempt + 1))
            else:
                self.stack.park_failed_run(name, str(exc))
            return {"schedule": name, "at": at.isoformat(), "error": str(exc)}


class ScheduleRunner(threading.Thread):
    """Fires the template's schedules when a running virtual clock passes their next fire time."""

    def __init__(self, stack: Any) -> None:
        super().__init__(daemon=True, name="schedules")
        self.stack = stack

    def run(self) -> None:
        from wecom_oa.clock import get_clock
        from wecom_oa.digests.schedules import next_fire_time

        clock = get_clock()
        due = {name: next_fire_time(s.expression, s.timezone, clock.now()) for name, s in self.stack.schedules.items()}
        while True:
            now = clock.now()
            for name, at in list(due.items()):
                if at is not None and at <= now:
                    try:
                        result = self.stack.fire(name)
                        print(f"schedule {name} fired at {at.isoformat()}: {json.dumps(result, default=str)[:160]}",
                              flush=True)
                    except Exception as exc:  # noqa: BLE001 - a failed run is logged; the next one still fires
                        print(f"schedule {name} failed at {at.isoformat()}: {exc}", file=sys.stderr, flush=True)
                    due[name] = next_fire_time(self.stack.schedules[name].expression,
                                               self.stack.schedules[name].timezone, now)
            time.sleep(0.2)


def parse_duration(text: str) -> float:
    """Seconds in '90', '90s', '15m', '2h', '1d', '1d2h30m' (a clear ValueError otherwise)."""
    import re

    text = str(text).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+)([dhms])", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"advance {text!r}: use seconds or a duration like 15m, 2h, 1d2h")
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return float(sum(int(n) * unit[u] for n, u in parts))
