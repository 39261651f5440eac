"""The stepped clock of local mode (`LOCAL_CLOCK=stepped`): virtual time stands still until someone
moves it with `POST /_sandbox/clock`, and then it moves in steps, stopping at every timer and schedule
on the way so each runs at its own instant.

Blocking waits (Step Functions Wait states, task-token timeouts, retry intervals: the patches in
`local.motoshim`) register here as *waiters* with a virtual deadline. `advance_to()` in
`local.server` sets the clock to the next deadline or schedule, which wakes the waiters due, and
then waits for the stack to be *quiet* (no handler running, no queued message, every running
execution parked in a waiter whose deadline is still ahead) before the next step. Nothing here
depends on how fast the machine is: quiet is an observed state, never a guessed duration.

In-handler sleeps (the WeCom client's backoff of a second or two) return at once and leave time
alone: a handler answering an HTTP request must not wait for a clock that only that request's
caller can move.

Delayed work of the services (a queue message due later, e.g. a failed send's next attempt) is a
*timer*: `call_later(seconds, fn)` keeps it here, `next_deadline()` includes it, and the driver runs
it (`run_due_timers()`) when it steps to its deadline, so SQS never holds a message whose delay is
in virtual time.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta


@dataclass
class Waiter:
    deadline: datetime
    alive: Callable[[], bool]
    id: int = field(default_factory=itertools.count().__next__)


class SteppedClock:
    scale = 1.0
    stepped = True

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SteppedClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._cond = threading.Condition()
        self._waiters: dict[int, Waiter] = {}
        self._timers: list[tuple[datetime, int, Callable[[], None]]] = []
        self._timer_ids = itertools.count()
        self.activity = 0  # bumped on every change a quietness check must notice

    def now(self) -> datetime:
        with self._cond:
            return self._now

    def set(self, when: datetime) -> None:
        """Move forward to `when` (never back) and wake the waiters it makes due."""
        with self._cond:
            when = when.astimezone(UTC)
            if when > self._now:
                self._now = when
                self.activity += 1
                self._cond.notify_all()

    def sleep(self, seconds: float) -> None:
        """In-handler backoff: returns at once (see the module docstring)."""

    def real_seconds(self, seconds: float) -> float:
        return 0.0

    def block(self, seconds: float, alive: Callable[[], bool] = lambda: True) -> None:
        """Block the calling thread until `seconds` of virtual time have passed or `alive()` turns
        false (an execution stopped). Polls `alive` because moto signals a stop on its own event."""
        with self._cond:
            waiter = Waiter(self._now + timedelta(seconds=max(0.0, seconds)), alive)
            self._waiters[waiter.id] = waiter
            self.activity += 1
            try:
                while self._now < waiter.deadline and alive():
                    self._cond.wait(0.05)
            finally:
                del self._waiters[waiter.id]
                self.activity += 1

    def parked(self) -> int:
        """How many waiters are parked: alive and with a deadline still ahead (a waiter already due
        is about to run and counts as busy)."""
        with self._cond:
            return sum(1 for w in self._waiters.values() if w.deadline > self._now and w.alive())

    def next_deadline(self) -> datetime | None:
        with self._cond:
            ahead = [w.deadline for w in self._waiters.values() if w.deadline > self._now and w.alive()]
            ahead += [t[0] for t in self._timers]
        return min(ahead, default=None)

    def call_later(self, seconds: float, fn: Callable[[], None]) -> None:
        """Run `fn` when the clock reaches now + `seconds` (by the driver, in deadline order)."""
        with self._cond:
            self._timers.append((self._now + timedelta(seconds=max(0.0, seconds)), next(self._timer_ids), fn))
            self._timers.sort(key=lambda t: (t[0], t[1]))
            self.activity += 1

    def run_due_timers(self) -> int:
        """Run every timer whose deadline has come (the driver's thread); returns how many ran."""
        ran = 0
        while True:
            with self._cond:
                if not self._timers or self._timers[0][0] > self._now:
                    return ran
                _, _, fn = self._timers.pop(0)
                self.activity += 1
            fn()
            ran += 1

    def bump(self) -> None:
        with self._cond:
            self.activity += 1


def is_stepped(clock: object) -> bool:
    return bool(getattr(clock, "stepped", False))
