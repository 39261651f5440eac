"""Alerts from business systems to WeCom: ingest, group, notify, escalate, acknowledge, resolve.

- `ingest` stores every alert with its state. The same (source, dedup_key) while open is a repeat:
  it updates that alert (count, latest fields) and sends nothing. A new alert is inhibited (stored,
  sent to nobody) while an inhibiting alert fires, else it joins the open incident (group) of its
  route and `group_by` labels, or opens one and arms the incident's timer.
- The timer (statemachines/alert_timer.asl.json, one execution per incident, `check`) sends the
  incident's first message after `group_wait_seconds` (quiet hours hold severities below critical),
  escalates unacknowledged incidents level by level, reminds every `repeat_interval_minutes`, and
  ends once the incident is acknowledged or resolved. Each step is recorded with a versioned write
  after its sends succeed (a retried check repeats a send rather than lose it).
- `ack` (a card's 认领, `POST /alerts/{id}/ack`) and `resolve` (已处理, `POST /alerts/{id}/resolve`, or
  the source's `ends_at` for the incident's last firing alert) are conditional transitions; a
  resolved message follows a fired one, to everyone who got it. Time to acknowledge and to resolve
  are kept per month (`stats`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import statistics
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from wecom_oa import wiring
from wecom_oa.alerts.config import AlertConfig, Receiver, Route, alert_config, rank
from wecom_oa.alerts.models import AlertIn, AlertmanagerWebhook
from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import get_clock
from wecom_oa.errors import AlreadyExists, Conflict, InvalidInput, NotFound, OAError, StaleVersion
from wecom_oa.observability import logger, metrics
from wecom_oa.settings import get_settings

CARD_KIND = "alert"
ACK, RESOLVE = "alert_ack", "alert_resolve"
OPEN_KIND = "ALERT"
ALERT_TTL = timedelta(days=400)
_MISSING = "-"


# ------------------------------------------------------------------------------ text
def templates() -> Any:
    from wecom_oa.texts import Templates

    path = get_settings().templates_dir / "alerts.yaml"
    cached = _templates_cache.get(str(path))
    if cached is None:
        cached = _templates_cache[str(path)] = Templates.load(path)
    return cached


_templates_cache: dict[str, Any] = {}


class _Fields(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return _MISSING


def _type_texts(alert_type: str) -> Mapping[str, str]:
    types = templates().section("types")
    found = types.get(alert_type) or types.get("default")
    if not isinstance(found, Mapping):
        raise InvalidInput(f"type: no message template for alert type {alert_type!r} and no default "
                           f"(templates/alerts.yaml types has {sorted(types)})")
    return found


def _render(template: str, values: Mapping[str, Any]) -> str:
    try:
        return template.format_map(_Fields({k: v for k, v in values.items() if v is not None}))
    except (ValueError, IndexError, AttributeError):
        return template


def _alert_values(alert: Mapping[str, Any]) -> dict[str, Any]:
    labels, fields = alert.get("labels") or {}, alert.get("fields") or {}
    values: dict[str, Any] = {**labels, **fields}  # a stored `listed` entry is both already
    values.setdefault("store_name", labels.get("store_name") or labels.get("store") or _MISSING)
    return values


def _title(group: Mapping[str, Any]) -> str:
    values = {**_alert_values({"labels": _first(group)["v"]}), "type": group["type"]}
    return _render(_type_texts(group["type"]).get("title", "{type}"), values)


def _lines(group: Mapping[str, Any]) -> list[str]:
    line = _type_texts(group["type"]).get("line", "")
    lines = [_render(line, _alert_values({"labels": entry["v"]})) for entry in _ordered(group)]
    hidden = int(group.get("alert_count", 0)) - len(lines)
    if hidden > 0:
        lines.append(templates().fill("more", hidden=hidden))
    return lines


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(get_settings().default_timezone)).strftime("%m-%d %H:%M")


def _severity_name(severity: str) -> str:
    return templates().section("severity_names").get(severity, severity)


def _header(group: Mapping[str, Any], key: str, **extra: Any) -> str:
    return templates().fill(key, title=_title(group), severity_name=_severity_name(group["severity"]), **extra)


def _count_line(group: Mapping[str, Any]) -> str:
    return templates().fill("firing_count", count=int(group["alert_count"]), first_at=_local(group["created_at"]))


# ------------------------------------------------------------------------------ ingest
def _values_key(values: Sequence[str]) -> str:
    raw = json.dumps(list(values), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _route_labels(route: Route, labels: Mapping[str, str]) -> list[str]:
    missing = [label for label in route.group_by if not labels.get(label)]
    if missing:
        raise InvalidInput(f"labels.{missing[0]}: required by route {route.name!r} (it groups by "
                           f"{', '.join(route.group_by)})", details={"route": route.name, "missing": missing})
    return [labels[label] for label in route.group_by]


def _check_receivers(cfg: AlertConfig, route: Route, labels: Mapping[str, str]) -> None:
    """A label that names a department must name one the directory has (400 now, not nobody told later)."""
    for name in route.receivers + [r for e in route.escalation for r in e.receivers]:
        rec = cfg.receivers[name]
        if rec.leader_of is not None:
            _department(labels[rec.leader_of.label], f"labels.{rec.leader_of.label}")


def ingest(body: AlertIn, *, now: datetime | None = None) -> tuple[int, dict[str, Any]]:
    """201 and the new alert; 200 for a repeat or a resolution of an open one."""
    cfg = alert_config()
    now = now or get_clock().now()
    labels = dict(body.labels)
    route = cfg.route_for(type=body.type, source=body.source, severity=body.severity, labels=labels)
    if route is None:
        raise InvalidInput(f"type: no route in alerts.yaml matches type {body.type!r} from source "
                           f"{body.source!r}", details={"type": body.type, "source": body.source})
    _type_texts(body.type)
    group_values = _route_labels(route, labels)
    resolving = body.ends_at is not None and body.ends_at <= now
    table = app_table()
    for _ in range(3):  # a concurrent request with the same key may claim it first: then this is its repeat
        pointer = table.get(Keys.alert_dedup(body.source, body.dedup_key))
        if pointer is not None:
            existing = table.get(Keys.alert(pointer["alert_id"]))
            if existing is not None and existing["state"] in ("firing", "inhibited") and _group_open(existing):
                return 200, _repeat(existing, body, now, resolving)
        if resolving:  # the source recovered from an alert we no longer hold open: store it as it is
            return 201, _store_new(body, route, group_values, now, state="resolved")
        _check_receivers(cfg, route, labels)
        inhibitor = _inhibited_by(cfg, body)
        state = "firing" if inhibitor is None else "inhibited"
        stored = _store_new(body, route, group_values, now, state=state, inhibited_by=inhibitor,
                            claim=lambda alert_id, previous=pointer: _claim_key(body, alert_id, previous, now))
        if stored is not None:
            return 201, stored
    raise Conflict(f"dedup_key {body.dedup_key!r} is being changed by concurrent requests; retry")


def _claim_key(body: AlertIn, alert_id: str, previous: Mapping[str, Any] | None, now: datetime) -> bool:
    """Point (source, dedup_key) at the new alert, once: False when another request got there first."""
    pointer = {**Keys.alert_dedup(body.source, body.dedup_key), "alert_id": alert_id,
               "expires_at": int((now + ALERT_TTL).timestamp())}
    try:
        if previous is None:
            app_table().put_new(pointer)
        else:  # the previous alert of the key is closed: take over, unless someone else just did
            app_table().update(Keys.alert_dedup(body.source, body.dedup_key),
                               set_fields={"alert_id": alert_id, "expires_at": pointer["expires_at"]},
                               condition="alert_id = :old", condition_values={":old": previous["alert_id"]})
    except (AlreadyExists, Conflict):
        return False
    return True


def ingest_alertmanager(payload: AlertmanagerWebhook) -> dict[str, Any]:
    """Each Alertmanager alert as one of ours: source `alertmanager`, type its `alertname`, the
    fingerprint (or the labels) as dedup key, `severity` from its label (critical / warning / info)."""
    results = []
    now = get_clock().now()
    for i, a in enumerate(payload.alerts):
        labels = {k: v for k, v in a.labels.items() if v}
        severity = labels.get("severity", "warning").lower()
        severity = {"error": "critical", "page": "critical", "none": "info"}.get(severity, severity)
        if severity not in ("critical", "warning", "info"):
            severity = "warning"
        dedup = a.fingerprint or _values_key(sorted(f"{k}={v}" for k, v in labels.items()))
        fields = {k: v[:512] for k, v in a.annotations.items()}
        ends = a.endsAt if a.status == "resolved" else None
        if a.status == "resolved" and (ends is None or ends.year < 2000 or ends > now):
            ends = now
        try:
            body = AlertIn(source="alertmanager", type=labels.get("alertname", "alertmanager")[:128],
                           severity=severity, dedup_key=dedup[:128], labels={k: v[:256] for k, v in labels.items()},
                           fields=fields, starts_at=a.startsAt if a.startsAt and a.startsAt.year >= 2000 else None,
                           ends_at=ends)
        except ValueError as exc:
            raise InvalidInput(f"alerts.{i}: {exc}") from None
        try:
            status, stored = ingest(body, now=now)
        except InvalidInput as exc:
            raise InvalidInput(f"alerts.{i}: {exc.message}", details=exc.details) from None
        results.append({**stored, "status": status})
    return {"received": len(results), "alerts": results}


def _group_open(alert: Mapping[str, Any]) -> bool:
    if not alert.get("group_id"):
        return True
    group = app_table().get(Keys.alert_group(alert["group_id"]))
    return group is not None and group["state"] != "resolved"


def _public(alert: Mapping[str, Any], *, repeat: bool = False) -> dict[str, Any]:
    return {"id": alert["id"], "state": alert["state"], "group_id": alert.get("group_id"), "repeat": repeat,
            "count": int(alert.get("count", 1))}


def _repeat(alert: dict[str, Any], body: AlertIn, now: datetime, resolving: bool) -> dict[str, Any]:
    sets: dict[str, Any] = {"last_seen_at": now.isoformat(), "fields": body.fields, "labels": body.labels}
    updated = app_table().update(Keys.alert(alert["id"]), set_fields=sets, add_fields={"count": 1})
    if updated.get("group_id") and updated["state"] == "firing":
        # The incident's messages show the latest values of the alerts they list (the others are counted).
        with contextlib.suppress(Conflict):
            app_table().update(Keys.alert_group(updated["group_id"]),
                               set_fields={("listed", updated["id"]): _entry(updated)},
                               condition="attribute_exists(listed.#aid)", condition_names={"#aid": updated["id"]})
    metrics.add_metric(name="AlertRepeated", unit="Count", value=1)
    if resolving:
        updated = _resolve_alert(updated, now, by=None) or updated
    return _public(updated, repeat=True)


def _store_new(body: AlertIn, route: Route, group_values: list[str], now: datetime, *, state: str,
               inhibited_by: str | None = None, claim: Any = None) -> dict[str, Any] | None:
    """Store a new alert; with `claim`, the (source, dedup_key) is then claimed for it, and a lost
    claim (a concurrent request with the same key got there first) removes it again: None."""
    alert_id = f"AL{now.strftime('%y%m%d')}-{secrets.token_hex(5)}"
    alert = {
        **Keys.alert(alert_id), "id": alert_id, "source": body.source, "type": body.type, "severity": body.severity,
        "dedup_key": body.dedup_key, "labels": body.labels, "fields": body.fields, "state": state,
        "route": route.name, "group_values": group_values, "count": 1, "created_at": now.isoformat(),
        "last_seen_at": now.isoformat(), "starts_at": (body.starts_at or now).isoformat(),
        "inhibited_by": inhibited_by, "expires_at": int((now + ALERT_TTL).timestamp()),
    }
    if state == "resolved":
        alert["resolved_at"] = (body.ends_at or now).isoformat()
    table = app_table()
    table.put_new(alert)
    if claim is not None and not claim(alert_id):
        table.delete(Keys.alert(alert_id))
        return None
    metrics.add_metric(name="AlertReceived", unit="Count", value=1)
    if state != "firing":
        return _public(alert)
    _mark_inhibitor(alert)
    group_id = _join_group(alert, route, now)
    alert = table.update(Keys.alert(alert_id), set_fields={"group_id": group_id})
    return _public(alert)


def _inhibited_by(cfg: AlertConfig, body: AlertIn) -> str | None:
    for i, rule in enumerate(cfg.inhibit):
        if not rule.target.matches(type=body.type, source=body.source, severity=body.severity, labels=body.labels):
            continue
        if rule.source.matches(type=body.type, source=body.source, severity=body.severity, labels=body.labels):
            continue  # an alert does not silence itself or its peers
        if any(not body.labels.get(label) for label in rule.equal):
            continue
        marker = app_table().get(Keys.alert_inhibitor(i, _values_key([body.labels[x] for x in rule.equal])))
        if marker is not None:
            source = app_table().get(Keys.alert(marker["alert_id"]))
            if source is not None and source["state"] == "firing" and _group_open(source):
                return source["id"]
    return None


def _mark_inhibitor(alert: Mapping[str, Any]) -> None:
    for i, rule in enumerate(alert_config().inhibit):
        labels = alert["labels"]
        if rule.source.matches(type=alert["type"], source=alert["source"], severity=alert["severity"], labels=labels) \
                and all(labels.get(label) for label in rule.equal):
            app_table().put({**Keys.alert_inhibitor(i, _values_key([labels[x] for x in rule.equal])),
                             "alert_id": alert["id"], "expires_at": alert["expires_at"]})


def _listed(alert: Mapping[str, Any]) -> dict[str, Any]:
    """What a message shows of one alert: its labels and fields (as text)."""
    return {k: str(v) for k, v in {**(alert.get("labels") or {}), **(alert.get("fields") or {})}.items()}


def _entry(alert: Mapping[str, Any]) -> dict[str, Any]:
    """The incident's copy of one of its first alerts (`listed`), in arrival order, with its fields
    kept apart for the card's rows."""
    return {"n": alert["created_at"], "v": _listed(alert), "fields": [str(k) for k in alert.get("fields") or {}]}


def _ordered(group: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [e for _, e in sorted((group.get("listed") or {}).items(), key=lambda kv: (kv[1]["n"], kv[0]))]


def _first(group: Mapping[str, Any]) -> dict[str, Any]:
    listed = group.get("listed") or {}
    entry = listed.get(group.get("first_id")) or (_ordered(group) or [{"v": {}, "fields": []}])[0]
    return entry


def _join_group(alert: Mapping[str, Any], route: Route, now: datetime) -> str:
    """The open incident of the route and labels, created (and its timer armed) by the first alert."""
    table = app_table()
    key = Keys.alert_group_key(route.name, _values_key(alert["group_values"]))
    limit = alert_config().max_alerts_listed
    for _ in range(5):
        pointer = table.get(key)
        if pointer is not None:
            group_id = pointer["group_id"]
            try:
                group = table.update(Keys.alert_group(group_id),
                             set_fields={("listed", alert["id"]): _entry(alert)},
                             add_fields={"alert_count": 1, "firing": 1},
                             condition="#st <> :resolved AND alert_count < :limit",
                             condition_values={":resolved": "resolved", ":limit": limit},
                             condition_names={"#st": "state"})
            except Conflict:
                try:  # full list (or resolved meanwhile): count only
                    group = table.update(Keys.alert_group(group_id), add_fields={"alert_count": 1, "firing": 1},
                                 condition="#st <> :resolved", condition_values={":resolved": "resolved"},
                                 condition_names={"#st": "state"})
                except Conflict:
                    table.delete(key)  # a stale pointer to a resolved incident: open a new one
                    continue
            if rank(alert["severity"]) < rank(group["severity"]):
                _raise_severity(group, alert["severity"])
            return group_id
        group_id = f"AG{now.strftime('%y%m%d')}-{secrets.token_hex(5)}"
        group = {
            **Keys.alert_group(group_id), "id": group_id, "route": route.name, "type": alert["type"],
            "source": alert["source"], "severity": alert["severity"], "labels": dict(zip(route.group_by, alert["group_values"], strict=True)),
            "group_key": key["pk"], "state": "pending", "alert_count": 1, "firing": 1, "first_id": alert["id"],
            "listed": {alert["id"]: _entry(alert)}, "created_at": now.isoformat(), "version": 1, "notified": [],
            "escalation_level": 0, "expires_at": alert["expires_at"], "digest_groups": list(route.digest_groups),
        }
        group["title"] = _title(group)
        try:
            table.transact([{"put": {**key, "group_id": group_id, "expires_at": alert["expires_at"]},
                             "condition": "attribute_not_exists(pk)"},
                            {"put": group, "condition": "attribute_not_exists(pk)"}])
        except Conflict:
            continue  # another alert opened it first: join that one
        _arm(group_id)
        metrics.add_metric(name="AlertGroupOpened", unit="Count", value=1)
        return group_id
    raise Conflict("the alert's incident changed too often; retry")


def _raise_severity(group: Mapping[str, Any], severity: str) -> None:
    """An incident's severity is its highest alert's (a critical alert joining warnings makes it critical)."""
    with contextlib.suppress(Conflict):  # raised by another alert meanwhile
        app_table().update(Keys.alert_group(group["id"]), set_fields={"severity": severity},
                           condition="#sev = :old", condition_values={":old": group["severity"]},
                           condition_names={"#sev": "severity"})


# ------------------------------------------------------------------------------ timer
def _arm(group_id: str) -> None:
    arn = get_settings().alert_state_machine_arn
    if not arn:
        raise OAError("ALERT_STATE_MACHINE_ARN is not set (the incident timers run there)")
    try:
        wiring.aws("stepfunctions").start_execution(stateMachineArn=arn, name=group_id,
                                                    input=json.dumps({"group_id": group_id}))
    except Exception as exc:
        if "ExecutionAlreadyExists" in type(exc).__name__ or "ExecutionAlreadyExists" in str(exc):
            return
        raise


def check(group_id: str) -> dict[str, Any]:
    """One wake-up of an incident's timer: send what is due; `{done, next_wakeup}` (UTC Z)."""
    table = app_table()
    group = table.get(Keys.alert_group(group_id))
    if group is None or group["state"] in ("acked", "resolved"):
        return {"done": True, "next_wakeup": None}
    cfg = alert_config()
    route = cfg.route(group["route"])
    now = get_clock().now()
    if group["state"] == "pending":
        due = datetime.fromisoformat(group["created_at"]) + timedelta(seconds=route.group_wait_seconds)
        if now < due:
            return _sleep(due)
        held = _quiet_until(group, route, now)
        if held is not None:
            return _sleep(held)
        notified = _send_firing(cfg, route, group, route.receivers, "firing_title")
        group = _record(group, {"state": "firing", "notified_at": now.isoformat(), "last_sent_at": now.isoformat(),
                                "notified": notified, **Keys.open_index(OPEN_KIND, None, now.isoformat(), group_id)})
        if group is None:
            return {"done": True, "next_wakeup": None}
    notified_at = datetime.fromisoformat(group["notified_at"])
    level = int(group.get("escalation_level", 0))
    escalates = rank(group["severity"]) <= rank(route.escalate_severity)
    if escalates and level < len(route.escalation):
        step = route.escalation[level]
        due = notified_at + timedelta(minutes=step.after_minutes)
        if now >= due:
            notified = list(group.get("notified") or [])
            already = "、".join(dict.fromkeys(notified))
            new = _send_firing(cfg, route, group, step.receivers, "escalated_title", level=level + 1,
                               note=templates().fill("escalated_note", minutes=step.after_minutes, notified=already))
            group = _record(group, {"escalation_level": level + 1, "last_sent_at": now.isoformat(),
                                    "notified": notified + [n for n in new if n not in notified]})
            metrics.add_metric(name="AlertEscalated", unit="Count", value=1)
            if group is None:
                return {"done": True, "next_wakeup": None}
            return _next(group, route, now)
    repeat_due = datetime.fromisoformat(group["last_sent_at"]) + timedelta(minutes=route.repeat_interval_minutes)
    if now >= repeat_due:
        held = _quiet_until(group, route, now)
        if held is not None:
            return _sleep(held)
        _send_firing(cfg, route, group, list(dict.fromkeys(group.get("notified") or route.receivers)), "repeat_title")
        group = _record(group, {"last_sent_at": now.isoformat()})
        if group is None:
            return {"done": True, "next_wakeup": None}
    return _next(group, route, now)


def _next(group: Mapping[str, Any], route: Route, now: datetime) -> dict[str, Any]:
    candidates = [datetime.fromisoformat(group["last_sent_at"]) + timedelta(minutes=route.repeat_interval_minutes)]
    level = int(group.get("escalation_level", 0))
    if rank(group["severity"]) <= rank(route.escalate_severity) and level < len(route.escalation):
        candidates.append(datetime.fromisoformat(group["notified_at"])
                          + timedelta(minutes=route.escalation[level].after_minutes))
    return _sleep(max(min(candidates), now + timedelta(seconds=1)))


def _sleep(until: datetime) -> dict[str, Any]:
    from datetime import UTC

    return {"done": False, "next_wakeup": until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def _quiet_until(group: Mapping[str, Any], route: Route, now: datetime) -> datetime | None:
    if group["severity"] == "critical" or not route.quiet_hours:
        return None
    from wecom_oa.worktime import quiet_hours
    from wecom_oa.worktime.calendar import company_calendars

    q = quiet_hours.policy()
    return q.until(now, company_calendars().get(q.calendar))


def _record(group: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any] | None:
    """Record a timer step; None when the incident was acknowledged or resolved meanwhile."""
    try:
        return app_table().update(Keys.alert_group(group["id"]), set_fields=changes,
                                  expected_version=int(group["version"]))
    except StaleVersion:
        current = app_table().get(Keys.alert_group(group["id"]))
        if current is None or current["state"] in ("acked", "resolved"):
            return None
        return app_table().update(Keys.alert_group(group["id"]), set_fields=changes,
                                  expected_version=int(current["version"]))


# ------------------------------------------------------------------------------ receivers and sends
def _department(value: str, where: str) -> Any:
    directory = wiring.directory()
    if value.isdigit():
        try:
            return directory.department(int(value))
        except NotFound:
            raise InvalidInput(f"{where}: unknown department {value}") from None
    for dept in directory.departments():
        if dept.name == value:
            return dept
    raise InvalidInput(f"{where}: no department named {value!r} in the directory")


def _leaders(rec: Receiver, labels: Mapping[str, str]) -> list[str]:
    assert rec.leader_of is not None
    directory = wiring.directory()
    dept = _department(labels[rec.leader_of.label], f"labels.{rec.leader_of.label}")
    for _ in range(rec.leader_of.up):
        if dept.parentid is None:
            break
        dept = directory.department(dept.parentid)
    while not dept.leaders and dept.parentid is not None:
        dept = directory.department(dept.parentid)
    return list(dept.leaders)


def _send_firing(cfg: AlertConfig, route: Route, group: Mapping[str, Any], receivers: Sequence[str], title_key: str,
                 **extra: Any) -> list[str]:
    """Send the incident to `receivers` (names); returns the names reached."""
    header = _header(group, title_key, **extra)
    note = extra.get("note")
    lines = _lines(group)
    reached = []
    for name in receivers:
        try:
            if not _send_to(cfg.receivers[name], group, header, note, lines):
                logger.warning("alert receiver resolves to nobody", extra={"receiver": name, "group_id": group["id"]})
                continue
        except OAError as exc:
            # One receiver's failure (a robot key WeCom refuses, a partner that stopped sharing the app)
            # does not keep the incident from the others; app messages that failed transiently are
            # re-attempted by the sender itself. Logged and counted for the operator.
            logger.exception("alert delivery to a receiver failed", extra={
                "receiver": name, "group_id": group["id"], "error": type(exc).__name__})
            metrics.add_metric(name="AlertDeliveryFailed", unit="Count", value=1)
            continue
        reached.append(name)
    metrics.add_metric(name="AlertMessages", unit="Count", value=len(reached))
    return reached


def _send_to(rec: Receiver, group: Mapping[str, Any], header: str, note: str | None, lines: Sequence[str]) -> bool:
    if rec.robot is not None:
        _robot_markdown(rec.robot, group, header, note, lines)
    elif rec.partner is not None:
        _card(group, header, note, lines, rec.partner.users, partner=rec.partner.corp)
    else:
        users = _members(rec, group)
        if not users:
            return False
        _card(group, header, note, lines, users)
    return True


def _members(rec: Receiver, group: Mapping[str, Any]) -> list[str]:
    """The userids a people receiver (users, tag, leader_of) names for this incident."""
    if rec.users is not None:
        return list(rec.users)
    if rec.tag is not None:
        return list(wiring.directory().tag_members(rec.tag))
    return _leaders(rec, group["labels"])


def _robot_markdown(robot: str, group: Mapping[str, Any], header: str, note: str | None, lines: Sequence[str]) -> None:
    color = templates().section("severity_colors").get(group["severity"], "warning")
    body = [f'**<font color="{color}">{header}</font>**', _count_line(group), *(f"> {line}" for line in lines)]
    if note:
        body.append(note)
    _robot_send(robot, "\n".join(body))


def _robot_send(robot: str, content: str) -> None:
    from wecom_oa.texts import ROBOT_MARKDOWN_LIMIT, split_markdown
    from wecom_oa.wecom.robot import RobotWebhookInvalid

    key = wiring.wecom_credentials().robot_keys.get(robot)
    if not key:
        raise RobotWebhookInvalid(f"no robot key configured under {robot!r}", api="webhook/send")
    client = _robot_client()
    for part in split_markdown(content.split("\n"), ROBOT_MARKDOWN_LIMIT):
        client.send_markdown(key, part)


def _robot_client() -> Any:
    return wiring.robot_client()


def _rows(entry: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The card's rows: the first alert's fields (labels when it has none), at most 6."""
    values = entry["v"]
    names = [k for k in entry.get("fields") or [] if k in values] or list(values)
    return [(k, values[k]) for k in names[:6]]


def _card(group: Mapping[str, Any], header: str, note: str | None, lines: Sequence[str], users: Sequence[str], *,
          partner: str | None = None) -> None:
    from wecom_oa.messaging import cards
    from wecom_oa.texts import shorten
    from wecom_oa.wecom.cards import new_task_id

    t = templates()
    task_id = new_task_id("al")
    desc = f"{_count_line(group)}"
    text = "\n".join([*lines, *([note] if note else [])])
    card = {
        "card_type": "button_interaction", "task_id": task_id,
        "main_title": {"title": shorten(header, 36), "desc": shorten(desc, 44)},
        "sub_title_text": shorten(text, 160),
        "horizontal_content_list": [{"keyname": shorten(str(k), 10), "value": shorten(str(v), 30)}
                                    for k, v in _rows(_first(group))],
        "button_list": [{"text": t.fill("buttons.ack"), "style": 1, "key": ACK},
                        {"text": t.fill("buttons.resolve"), "style": 2, "key": RESOLVE}],
    }
    recipients = [f"{partner}:{u}" for u in users] if partner else list(users)
    cards.register_card(task_id, CARD_KIND, {"group_id": group["id"]}, recipients)
    if partner:
        wiring.partner_client(partner).send_template_card(card, touser=list(users))
    else:
        wiring.sender().send_template_card(card, touser=list(users))


# ------------------------------------------------------------------------------ people act
def _group_of(alert_or_group_id: str) -> dict[str, Any]:
    table = app_table()
    if alert_or_group_id.startswith("AG"):
        group = table.get(Keys.alert_group(alert_or_group_id))
    else:
        alert = table.get(Keys.alert(alert_or_group_id))
        if alert is None:
            raise NotFound(f"alert {alert_or_group_id} not found")
        if not alert.get("group_id"):
            raise InvalidInput(f"alert {alert_or_group_id} is {alert['state']}: it has no incident to act on")
        group = table.get(Keys.alert_group(alert["group_id"]))
    if group is None:
        raise NotFound(f"alert {alert_or_group_id} not found")
    return group


def _person(userid: str) -> str:
    if ":" in userid:
        return userid.split(":", 1)[1]
    from wecom_oa.people import display_name

    return display_name(userid)


def ack(alert_or_group_id: str, by: str) -> dict[str, Any]:
    """The incident is claimed: reminders and escalation stop; the others are told who has it."""
    group = _group_of(alert_or_group_id)
    if ":" not in by:
        from wecom_oa.people import require_actor

        require_actor(by)
    if group["state"] in ("acked", "resolved"):
        return view(group)
    now = get_clock().now()
    try:
        group = app_table().update(Keys.alert_group(group["id"]),
                                   set_fields={"state": "acked", "acked_by": by, "acked_at": now.isoformat()},
                                   remove_fields=["gsi1pk", "gsi1sk"], condition="#st IN (:p, :f)",
                                   condition_values={":p": "pending", ":f": "firing"}, condition_names={"#st": "state"})
    except Conflict:
        return view(_group_of(group["id"]))
    _stat(group, "ack", now, by)
    metrics.add_metric(name="AlertAcknowledged", unit="Count", value=1)
    if group.get("notified_at"):
        _tell_robots(group, templates().fill("acked", title=_title(group), by=_person(by)))
    return view(group)


def resolve(alert_or_group_id: str, by: str | None) -> dict[str, Any]:
    """A person marks the incident done (every alert in it), or its last firing alert recovered."""
    group = _group_of(alert_or_group_id)
    if by and ":" not in by:
        from wecom_oa.people import require_actor

        require_actor(by)
    return view(_close_group(group, get_clock().now(), by) or _group_of(group["id"]))


def _resolve_alert(alert: Mapping[str, Any], now: datetime, by: str | None) -> dict[str, Any] | None:
    table = app_table()
    try:
        alert = table.update(Keys.alert(alert["id"]), set_fields={"state": "resolved", "resolved_at": now.isoformat()},
                             condition="#st IN (:f, :i)", condition_values={":f": "firing", ":i": "inhibited"},
                             condition_names={"#st": "state"})
    except Conflict:
        return None
    table.delete(Keys.alert_dedup(alert["source"], alert["dedup_key"]))
    if alert.get("group_id"):
        group = table.update(Keys.alert_group(alert["group_id"]), add_fields={"firing": -1})
        if int(group.get("firing", 0)) <= 0:
            _close_group(group, now, by)
    return alert


def _close_group(group: Mapping[str, Any], now: datetime, by: str | None) -> dict[str, Any] | None:
    table = app_table()
    try:
        group = table.update(Keys.alert_group(group["id"]),
                             set_fields={"state": "resolved", "resolved_at": now.isoformat(), "resolved_by": by},
                             remove_fields=["gsi1pk", "gsi1sk"], condition="#st <> :r",
                             condition_values={":r": "resolved"}, condition_names={"#st": "state"})
    except Conflict:
        return None
    table.delete({"pk": group["group_key"], "sk": Keys.META})
    _stat(group, "resolve", now, by)
    metrics.add_metric(name="AlertResolved", unit="Count", value=1)
    if group.get("notified_at"):
        started = datetime.fromisoformat(group["created_at"])
        how = (templates().fill("resolved_by_person", by=_person(by)) if by
               else templates().fill("resolved_by_source"))
        from wecom_oa.wecom.cards import CardBuilder

        duration = CardBuilder(timezone=get_settings().default_timezone).duration(now - started)
        text = templates().fill("resolved", title=_title(group), how=how, duration=duration)
        _tell_everyone(group, text)
    return group


def _tell_robots(group: Mapping[str, Any], text: str) -> None:
    cfg = alert_config()
    for name in dict.fromkeys(group.get("notified") or []):
        rec = cfg.receivers.get(name)
        if rec is not None and rec.robot is not None:
            try:
                _robot_send(rec.robot, text)
            except OAError:
                logger.warning("alert follow-up to a robot failed", extra={"robot": rec.robot})


def _tell_everyone(group: Mapping[str, Any], text: str) -> None:
    """A resolved message to every receiver the incident reached (robots and people)."""
    cfg = alert_config()
    _tell_robots(group, text)
    for name in dict.fromkeys(group.get("notified") or []):
        rec = cfg.receivers.get(name)
        if rec is None or rec.robot is not None:
            continue
        try:
            if rec.partner is not None:
                wiring.partner_client(rec.partner.corp).send_text(text, touser=list(rec.partner.users))
                continue
            users = _members(rec, group)
            if users:
                wiring.sender().send_text(text, touser=list(users))
        except OAError:
            logger.warning("alert resolved message failed", extra={"receiver": name, "group_id": group["id"]})


def on_card_click(card: Mapping[str, Any], event: Any) -> None:
    """认领 / 已处理 on an alert card; the clicker's button shows what happened."""
    from wecom_oa.messaging import cards

    group_id = card["ref"]["group_id"]
    userid = cards.clicker_id(event)
    try:
        if event.event_key == ACK:
            group = ack(group_id, userid)
        elif event.event_key == RESOLVE:
            group = resolve(group_id, userid)
        else:
            logger.warning("alert card click with an unknown key ignored", extra={"key": event.event_key})
            return
    except OAError as exc:
        logger.info("alert card click had no effect", extra={"group_id": group_id, "reason": exc.message})
        return
    code = cards.take_response_code(card["pk"].removeprefix("CARD#"), userid)
    if code is None:
        return
    incident = group["incident"]
    final = templates().fill("final.resolved") if incident["state"] == "resolved" else \
        templates().fill("final.acked", by=_person(incident.get("acked_by") or userid))
    try:
        if ":" in userid:
            corp, uid = userid.split(":", 1)
            wiring.partner_client(corp).update_template_card(code, userids=[uid], replace_name=final)
        else:
            wiring.sender().update_template_card(code, userids=[userid], replace_name=final)
    except OAError:
        logger.warning("alert card not updated", extra={"group_id": group_id})




# ------------------------------------------------------------------------------ reading
def _stat(group: Mapping[str, Any], kind: str, now: datetime, by: str | None) -> None:
    since = datetime.fromisoformat(group.get("notified_at") or group["created_at"])
    if kind == "resolve":
        since = datetime.fromisoformat(group["created_at"])
    receiver = None
    if by:
        receiver = next((n for n in group.get("notified") or [] if _reaches(n, by, group)), None)
    app_table().put({**Keys.alert_stat(now.strftime("%Y-%m"), group["type"], kind, group["id"]),
                     "type": group["type"], "kind": kind, "seconds": max(0, int((now - since).total_seconds())),
                     "by": by, "receiver": receiver, "severity": group["severity"],
                     "expires_at": int((now + ALERT_TTL).timestamp())})


def _reaches(name: str, userid: str, group: Mapping[str, Any]) -> bool:
    rec = alert_config().receivers.get(name)
    if rec is None or rec.robot is not None:
        return False
    if rec.partner is not None:
        return userid in {f"{rec.partner.corp}:{u}" for u in rec.partner.users}
    try:
        users = _members(rec, group)
    except OAError:
        return False
    return userid in users


def view(group: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "route", "type", "source", "severity", "labels", "state", "alert_count", "firing", "created_at",
            "notified_at", "notified", "escalation_level", "acked_by", "acked_at", "resolved_by", "resolved_at")
    out = {k: group.get(k) for k in keys}
    out["alert_count"], out["firing"] = int(group.get("alert_count", 0)), max(0, int(group.get("firing", 0)))
    out["escalation_level"] = int(group.get("escalation_level", 0))
    out["title"] = _title(group)
    return {"incident": out}


def get(alert_id: str) -> dict[str, Any]:
    if alert_id.startswith("AG"):
        group = app_table().get(Keys.alert_group(alert_id))
        if group is None:
            raise NotFound(f"alert {alert_id} not found")
        return view(group)
    alert = app_table().get(Keys.alert(alert_id))
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    out = {k: alert.get(k) for k in ("id", "source", "type", "severity", "dedup_key", "labels", "fields", "state",
                                      "route", "group_id", "created_at", "last_seen_at", "resolved_at",
                                      "inhibited_by")}
    out["count"] = int(alert.get("count", 1))
    if alert.get("group_id"):
        group = app_table().get(Keys.alert_group(alert["group_id"]))
        if group is not None:
            out.update(view(group))
            if group["state"] == "resolved" and out["state"] == "firing":
                out["state"] = "resolved"
    return out


def stats(month: str) -> dict[str, Any]:
    """Time to acknowledge and to resolve (seconds: count, median, p90, max) per type and per receiver."""
    buckets: dict[tuple[str, str, str], list[int]] = {}
    for item in app_table().query(f"ALERTSTATS#{month}"):
        for group_by in ("type", "receiver"):
            name = item.get(group_by) or (templates().text("unknown_receiver") if group_by == "receiver" else item["type"])
            buckets.setdefault((group_by, name, item["kind"]), []).append(int(item["seconds"]))
    out: dict[str, Any] = {"month": month, "by_type": {}, "by_receiver": {}}
    for (group_by, name, kind), values in sorted(buckets.items()):
        values.sort()
        entry = out["by_type" if group_by == "type" else "by_receiver"].setdefault(name, {})
        entry[f"time_to_{'acknowledge' if kind == 'ack' else 'resolve'}"] = {
            "count": len(values), "median_seconds": int(statistics.median(values)),
            "p90_seconds": values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))], "max_seconds": values[-1]}
    return out
