"""Alert routing (config/alerts.yaml): receivers by name, routes matched in order, inhibition.

A route matches on an alert's `type`, `source`, `severity` (at least) and `labels` (equal values);
the first route that matches takes the alert. Its receivers are names from `receivers`, each one of:
a group robot (`robot`), app members (`users`), a tag (`tag`, also how roles are kept in WeCom), the
leader of a department named by a label (`leader_of: {label: store, up: 1}`: the store's region
manager), or members of a downstream partner organisation (`partner: {corp, users}`, through the
upstream/downstream shared app). Alerts of one route with the same `group_by` labels form one group
(one incident): one message after `group_wait_seconds`, a reminder every `repeat_interval_minutes`
while unacknowledged, `escalation` levels for unacknowledged alerts at or above
`escalate_severity`, and quiet hours (quiet_hours.yaml) for severities below `critical` when
`quiet_hours` is on. `inhibit`: while a `source`-matching alert fires, new `target`-matching alerts
with the same `equal` labels are stored as inhibited and sent to nobody."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import Field, ValidationError, model_validator

from wecom_oa.errors import ConfigurationError
from wecom_oa.validation import Model

SEVERITIES = ("critical", "warning", "info")  # high → low
Severity = Literal["critical", "warning", "info"]
Name = Annotated[str, Field(min_length=1, max_length=64)]


def rank(severity: str) -> int:
    """0 for critical, larger is lower."""
    return SEVERITIES.index(severity)


class LeaderOf(Model):
    label: Name
    up: int = Field(1, ge=0, le=5, description="0: the department's own leaders; 1: its parent's …")


class Partner(Model):
    corp: Name = Field(description="the downstream corp's corpid (upstream/downstream chain)")
    users: list[Name] = Field(min_length=1, max_length=1000)


class Receiver(Model):
    robot: Name | None = None
    users: list[Name] | None = Field(None, min_length=1, max_length=1000)
    tag: Name | None = None
    leader_of: LeaderOf | None = None
    partner: Partner | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Receiver:
        kinds = [k for k in ("robot", "users", "tag", "leader_of", "partner") if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(f"a receiver is exactly one of robot, users, tag, leader_of, partner (got {kinds or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return next(k for k in ("robot", "users", "tag", "leader_of", "partner") if getattr(self, k) is not None)


class Match(Model):
    type: Name | None = None
    source: Name | None = None
    severity: Severity | None = Field(None, description="this severity or higher")
    labels: dict[Name, str] = Field(default_factory=dict)

    def matches(self, *, type: str, source: str, severity: str, labels: dict[str, str]) -> bool:
        return ((self.type is None or self.type == type) and (self.source is None or self.source == source)
                and (self.severity is None or rank(severity) <= rank(self.severity))
                and all(labels.get(k) == v for k, v in self.labels.items()))


class Escalation(Model):
    after_minutes: int = Field(ge=1, le=7 * 24 * 60, description="minutes after the first message, unacknowledged")
    receivers: list[Name] = Field(min_length=1)


class Route(Model):
    name: Name
    match: Match = Field(default_factory=Match)
    receivers: list[Name] = Field(min_length=1)
    group_by: list[Name] = Field(default_factory=list, max_length=5)
    group_wait_seconds: int = Field(30, ge=0, le=3600)
    repeat_interval_minutes: int = Field(240, ge=5, le=7 * 24 * 60)
    escalation: list[Escalation] = Field(default_factory=list, max_length=5)
    escalate_severity: Severity = "critical"
    quiet_hours: bool = True
    digest_groups: list[Name] = Field(default_factory=list, description="project groups (digests.yaml) whose "
                                      "18:00 summary lists this route's unclaimed incidents as risks")

    @model_validator(mode="after")
    def _ordered(self) -> Route:
        minutes = [e.after_minutes for e in self.escalation]
        if minutes != sorted(set(minutes)):
            raise ValueError("escalation levels must have increasing after_minutes")
        return self


class Inhibit(Model):
    source: Match
    target: Match
    equal: list[Name] = Field(min_length=1, max_length=5)


class AlertConfig(Model):
    receivers: dict[Name, Receiver] = Field(min_length=1)
    routes: list[Route] = Field(min_length=1)
    inhibit: list[Inhibit] = Field(default_factory=list)
    max_alerts_listed: int = Field(10, ge=1, le=50, description="alerts named in one grouped message")

    @model_validator(mode="after")
    def _references(self) -> AlertConfig:
        names = [r.name for r in self.routes]
        if len(names) != len(set(names)):
            raise ValueError(f"route names must be unique: {sorted({n for n in names if names.count(n) > 1})}")
        for i, route in enumerate(self.routes):
            used = [("receivers", r) for r in route.receivers] + [
                (f"escalation.{j}.receivers", r) for j, e in enumerate(route.escalation) for r in e.receivers]
            for where, name in used:
                if name not in self.receivers:
                    raise ValueError(f"routes.{i}.{where}: unknown receiver {name!r} "
                                     f"(receivers has {sorted(self.receivers)})")
            for name in route.receivers:
                rec = self.receivers[name]
                if rec.leader_of is not None and rec.leader_of.label not in route.group_by:
                    raise ValueError(f"routes.{i}.group_by: receiver {name!r} reads labels.{rec.leader_of.label}, "
                                     "so the route must group by it (one leader per group)")
        return self

    def route_for(self, *, type: str, source: str, severity: str, labels: dict[str, str]) -> Route | None:
        return next((r for r in self.routes
                     if r.match.matches(type=type, source=source, severity=severity, labels=labels)), None)

    def route(self, name: str) -> Route:
        return next(r for r in self.routes if r.name == name)


def load_alert_config(path: Path) -> AlertConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"{path.name}: cannot read ({type(exc).__name__})") from None
    try:
        return AlertConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            loc = ".".join(str(p) for p in e["loc"])
            msg = e["msg"].removeprefix("Value error, ")
            problems.append(f"{loc}: {msg}" if loc else msg)
        raise ConfigurationError(f"{path.name}: {'; '.join(problems)}") from None


@lru_cache(maxsize=1)
def _cached(path: str, mtime: float) -> AlertConfig:
    return load_alert_config(Path(path))


def alert_config() -> AlertConfig:
    from wecom_oa.settings import get_settings

    path = get_settings().config_dir / "alerts.yaml"
    try:
        mtime = path.stat().st_mtime
    except OSError:
        raise ConfigurationError(f"{path.name}: missing (alert routing is configured there)") from None
    return _cached(str(path), mtime)
