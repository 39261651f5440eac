"""Production progress: plan vs actual per order, alarms with hysteresis and cool-down, projection.

The plan is linear from `start` to `end` unless an hourly plan is given (quantity per clock hour,
summing to the total). `behind_pct` = (planned - actual) / planned * 100 (negative when ahead).

`assess` is pure: given the stored `AlarmState` it returns the outcome and the next state, which the
caller stores with a conditional write. Rules (policy X = alarm_behind_pct, Y = recover_behind_pct,
Y < X):
- behind >= X and not alarming            -> alarm
- behind >= X and alarming                -> alarm again only after `cooldown_minutes`, or sooner when
                                             behind grew by `worse_step_pct` since the last alarm
- behind <= Y and alarming                -> recovered (explicit "back on track" message)
- otherwise                               -> none, state kept (the band between Y and X holds)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, ValidationError, model_validator

from wecom_oa.errors import InvalidInput
from wecom_oa.texts import Templates
from wecom_oa.validation import Model

Outcome = Literal["alarm", "recovered", "none"]
_HOUR = timedelta(hours=1)


class ProgressPolicy(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)
    alarm_behind_pct: float = Field(default=10.0, gt=0, le=100)
    recover_behind_pct: float = Field(default=5.0, ge=-100, lt=100)
    cooldown_minutes: int = Field(default=180, ge=0)
    worse_step_pct: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _band(self) -> ProgressPolicy:
        if self.recover_behind_pct >= self.alarm_behind_pct:
            raise ValueError("recover_behind_pct must be below alarm_behind_pct (hysteresis band)")
        return self


MAX_QTY = 1e12  # a production quantity; bounds what is stored (a 127-digit string is not a quantity)


class HourlyTarget(Model):
    model_config = ConfigDict(extra="forbid")
    hour_start: datetime
    qty: float = Field(ge=0, le=MAX_QTY, allow_inf_nan=False)


class ProductionPlan(Model):
    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=128)
    product: str = ""
    group: str = ""  # factory group that receives this order's progress
    total_qty: float = Field(gt=0, le=MAX_QTY, allow_inf_nan=False)
    start: datetime
    end: datetime
    hourly_plan: list[HourlyTarget] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> ProductionPlan:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("start and end must carry a timezone offset")
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.hourly_plan:
            starts = [h.hour_start for h in self.hourly_plan]
            if any(s.tzinfo is None for s in starts) or len(set(starts)) != len(starts):
                raise ValueError("hourly_plan hour_start values must be distinct and carry a timezone offset")
            if any(s < self.start or s >= self.end for s in starts):
                raise ValueError("hourly_plan slots must lie between start and end")
            planned = sum(h.qty for h in self.hourly_plan)
            if abs(planned - self.total_qty) > 1e-6 * max(1.0, self.total_qty):
                raise ValueError(f"hourly_plan sums to {planned:g} but total_qty is {self.total_qty:g}")
        return self

    def planned_at(self, at: datetime) -> float:
        if at <= self.start:
            return 0.0
        if at >= self.end and not self.hourly_plan:
            return self.total_qty
        if not self.hourly_plan:
            return self.total_qty * ((at - self.start) / (self.end - self.start))
        done = 0.0
        for slot in self.hourly_plan:
            fraction = min(1.0, max(0.0, (at - slot.hour_start) / _HOUR))
            done += slot.qty * fraction
        return min(done, self.total_qty)


class ActualReport(Model):
    """Cumulative completed quantity of an order at a time (POST /progress)."""

    model_config = ConfigDict(extra="forbid")
    order_id: str = Field(min_length=1, max_length=128)
    actual_qty: float = Field(ge=0, le=MAX_QTY, allow_inf_nan=False)
    at: datetime | None = None  # defaults to the time the report is received


class ProgressPost(Model):
    """POST /progress: production plans and cumulative actuals (either may be left out)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "plans": [{"order_id": "MO-2026-1203", "product": "运动鞋 A1", "total_qty": 1200, "group": "factory-group",
                   "start": "2026-12-03T08:00:00+08:00", "end": "2026-12-03T20:00:00+08:00"}],
        "actuals": [{"order_id": "MO-2026-1203", "actual_qty": 430, "at": "2026-12-03T12:00:00+08:00"}],
    }]})
    plans: list[ProductionPlan] = Field(default_factory=list)
    actuals: list[ActualReport] = Field(default_factory=list)


class AlarmState(Model):
    alarming: bool = False
    last_alarm_at: datetime | None = None
    last_alarm_behind_pct: float | None = None
    last_change_at: datetime | None = None


class ProgressSnapshot(Model):
    order_id: str
    product: str
    at: datetime
    total_qty: float
    planned_qty: float
    actual_qty: float
    behind_pct: float
    shortfall: float  # planned - actual now, 0 when ahead
    projected_total: float | None  # at the planned end, by linear extrapolation of the rate so far
    projected_end_shortfall: float | None
    projected_finish: datetime | None
    end: datetime


class Assessment(Model):
    outcome: Outcome
    state: AlarmState
    snapshot: ProgressSnapshot


def parse_progress_post(data: Any, known_plans: Mapping[str, ProductionPlan]) -> ProgressPost:
    """Validate a POST /progress body. Raises InvalidInput naming the field (e.g. `actuals[0].actual_qty`)
    or the unknown order (an actual whose order has no plan, neither stored nor in the body)."""
    try:
        post = ProgressPost.model_validate(data)
    except ValidationError as exc:
        fields = [".".join(_loc(p) for p in err["loc"]).replace(".[", "[") for err in exc.errors()]
        raise InvalidInput(
            f"invalid progress report: {', '.join(fields)}",
            details=[{"field": f, "problem": e["msg"]} for f, e in zip(fields, exc.errors(), strict=True)],
        ) from None
    check_known_orders(post, known_plans)
    return post


def check_known_orders(post: ProgressPost, known_plans: Mapping[str, ProductionPlan]) -> None:
    """InvalidInput naming the first actual whose order has no plan, neither stored nor in the body."""
    plan_ids = set(known_plans) | {p.order_id for p in post.plans}
    for index, actual in enumerate(post.actuals):
        if actual.order_id not in plan_ids:
            raise InvalidInput(
                f"actuals[{index}].order_id: unknown order {actual.order_id!r} (no production plan)",
                details={"field": f"actuals[{index}].order_id", "order_id": actual.order_id},
            )


def _loc(part: Any) -> str:
    return f"[{part}]" if isinstance(part, int) else str(part)


def snapshot(plan: ProductionPlan, actual_qty: float, now: datetime) -> ProgressSnapshot:
    if actual_qty < 0:
        raise InvalidInput(f"order {plan.order_id!r}: actual_qty must not be negative", details={"field": "actual_qty"})
    planned = plan.planned_at(now)
    behind = (planned - actual_qty) / planned * 100 if planned > 0 else 0.0
    elapsed = min(now, plan.end) - plan.start
    projected_total = projected_finish = None
    if elapsed > timedelta(0) and actual_qty > 0:
        rate = actual_qty / elapsed.total_seconds()
        projected_total = actual_qty if now >= plan.end else rate * (plan.end - plan.start).total_seconds()
        projected_finish = plan.start + timedelta(seconds=plan.total_qty / rate)
    elif elapsed > timedelta(0):
        projected_total = 0.0
    return ProgressSnapshot(
        order_id=plan.order_id,
        product=plan.product,
        at=now,
        total_qty=plan.total_qty,
        planned_qty=planned,
        actual_qty=actual_qty,
        behind_pct=behind,
        shortfall=max(0.0, planned - actual_qty),
        projected_total=projected_total,
        projected_end_shortfall=None if projected_total is None else max(0.0, plan.total_qty - projected_total),
        projected_finish=projected_finish,
        end=plan.end,
    )


def assess(
    plan: ProductionPlan,
    actual_qty: float,
    now: datetime,
    state: AlarmState | None = None,
    policy: ProgressPolicy | None = None,
) -> Assessment:
    """Decide alarm / recovered / none for one order and return the next state (see module doc)."""
    state = state or AlarmState()
    policy = policy or ProgressPolicy()
    snap = snapshot(plan, actual_qty, now)
    behind = snap.behind_pct
    if behind >= policy.alarm_behind_pct and _may_alarm(state, behind, now, policy):
        new = AlarmState(alarming=True, last_alarm_at=now, last_alarm_behind_pct=behind,
                         last_change_at=now if not state.alarming else state.last_change_at)
        return Assessment(outcome="alarm", state=new, snapshot=snap)
    if behind <= policy.recover_behind_pct and state.alarming:
        new = AlarmState(alarming=False, last_alarm_at=state.last_alarm_at,
                         last_alarm_behind_pct=state.last_alarm_behind_pct, last_change_at=now)
        return Assessment(outcome="recovered", state=new, snapshot=snap)
    return Assessment(outcome="none", state=state, snapshot=snap)


def _may_alarm(state: AlarmState, behind: float, now: datetime, policy: ProgressPolicy) -> bool:
    if not state.alarming or state.last_alarm_at is None:
        return True
    if now - state.last_alarm_at >= timedelta(minutes=policy.cooldown_minutes):
        return True
    last = state.last_alarm_behind_pct if state.last_alarm_behind_pct is not None else behind
    return behind >= last + policy.worse_step_pct


def assess_all(
    plans: Mapping[str, ProductionPlan],
    actuals: Iterable[ActualReport],
    now: datetime,
    states: Mapping[str, AlarmState],
    policy: ProgressPolicy | None = None,
) -> list[Assessment]:
    """Assess the latest actual per order. Raises InvalidInput for an actual of an unknown order."""
    latest: dict[str, ActualReport] = {}
    for actual in actuals:
        if actual.order_id not in plans:
            raise InvalidInput(f"unknown order {actual.order_id!r}", details={"field": "order_id", "order_id": actual.order_id})
        seen = latest.get(actual.order_id)
        if seen is None or (actual.at or now) >= (seen.at or now):
            latest[actual.order_id] = actual
    return [
        assess(plans[oid], latest[oid].actual_qty, now, states.get(oid), policy) for oid in sorted(latest)
    ]


# ---------------------------------------------------------------------------------------------
# rendering


def _qty(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def message_fields(snap: ProgressSnapshot, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "order_id": snap.order_id,
        "product": snap.product or snap.order_id,
        "planned": _qty(snap.planned_qty),
        "actual": _qty(snap.actual_qty),
        "total": _qty(snap.total_qty),
        "behind_pct": f"{max(0.0, snap.behind_pct):.1f}",
        "progress_pct": f"{snap.actual_qty / snap.total_qty:.0%}",
        "shortfall": _qty(snap.shortfall),
        "projected_total": _qty(snap.projected_total) if snap.projected_total is not None else "-",
        "projected_shortfall": _qty(snap.projected_end_shortfall or 0.0),
        "projected_finish": snap.projected_finish.astimezone(tz).strftime("%m-%d %H:%M") if snap.projected_finish else "-",
        "end": snap.end.astimezone(tz).strftime("%m-%d %H:%M"),
        "time": snap.at.astimezone(tz).strftime("%H:%M"),
    }


def render_assessment(assessment: Assessment, templates: Templates, tz: ZoneInfo) -> str | None:
    """The alarm or recovered message, or None when the outcome is none."""
    if assessment.outcome == "none":
        return None
    return templates.fill(f"progress.{assessment.outcome}", **message_fields(assessment.snapshot, tz))


def render_progress_lines(snapshots: Sequence[ProgressSnapshot], templates: Templates, tz: ZoneInfo, *,
                          group_name: str, now: datetime) -> list[str]:
    """The hourly per-order table lines for one factory group (split with `digests.split_markdown`)."""
    lines = [templates.fill("progress.header", group=group_name, time=now.astimezone(tz).strftime("%m-%d %H:%M"))]
    for snap in sorted(snapshots, key=lambda s: (-s.behind_pct, s.order_id)):
        key = "progress.row_behind" if snap.behind_pct > 0 else "progress.row"
        lines.append(templates.fill(key, **message_fields(snap, tz)))
    return lines
