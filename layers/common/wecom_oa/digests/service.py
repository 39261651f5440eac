"""Scheduled digests (function `digest`) and the progress / daily-report intake routes.

`run(schedule)` looks the schedule up in `config/digests.yaml` and:
- dispatches `approval_reconcile` / `ticket_reconcile` to their owners' `reconcile()` (lazy import);
- does nothing on a non-workday of the schedule's calendar when `workdays_only` (holidays skipped,
  调休 make-up Saturdays sent);
- runs `notice_followup` (idempotent per stage by itself, see `services.notices`);
- otherwise claims the period (`period_key`) with a conditional put, so a schedule fired twice in one
  period sends once; builds the digest from open items only (gsi1) and delivers it. Each delivery is
  recorded on the run record; a failed delivery (e.g. a robot key WeCom rejects, 93000) is logged as
  an error and counted (metric `DigestDeliveryFailed`), the run is marked `failed` (a retry re-claims
  it and sends only what is missing) and `DigestDeliveryFailed` is raised, so Lambda's asynchronous
  retries run it again and finally park it in DigestFailuresQueue, where the operator alarm fires.
  Nothing is dropped silently.

Routes: `POST /progress {plans, actuals}` and `POST /reports {reports: [{userid, date}]}`. The
missing-reports digest first imports WeCom 汇报 journals (`import_journals`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ConfigDict, Field

from wecom_oa import wiring
from wecom_oa.aws.dynamo import GSI_OPEN, Keys, app_table
from wecom_oa.clock import get_clock
from wecom_oa.digests import config
from wecom_oa.digests.progress import (
    AlarmState,
    ProductionPlan,
    ProgressPost,
    ProgressSnapshot,
    assess,
    check_known_orders,
    render_assessment,
    render_progress_lines,
)
from wecom_oa.digests.reports import (
    DailyReport,
    LeaderNote,
    ReportPolicy,
    ReportsPost,
    find_missing,
    journal_window_start,
    render_leader_note,
    render_reminder,
    with_leaders,
)
from wecom_oa.digests.schedules import (
    DigestKind,
    ProjectGroup,
    ScheduleSpec,
    Target,
    local_date,
    period_key,
    should_fire,
)
from wecom_oa.digests.store import OrderStore, ReportStore, RunStore
from wecom_oa.errors import ConfigurationError, Conflict, OAError, UpstreamError
from wecom_oa.observability import logger, metrics
from wecom_oa.settings import get_settings
from wecom_oa.texts import APP_MARKDOWN_LIMIT, ROBOT_MARKDOWN_LIMIT, split_markdown
from wecom_oa.validation import Model

if TYPE_CHECKING:
    from wecom_oa.digests.domain import OpenItem
    from wecom_oa.worktime.calendar import BusinessCalendar

# The daily summary's builder (digests.domain) is imported by the daily summary; the calendars are
# loaded by `run` through digests.config: a cold start imports neither.

RECONCILERS = {
    DigestKind.APPROVAL_RECONCILE: "wecom_oa.approvals.service:reconcile",
    DigestKind.TICKET_RECONCILE: "wecom_oa.tickets.service:reconcile",
}
ROOT_DEPARTMENT = 1
MsgType = Literal["markdown", "text"]


class DigestDeliveryFailed(UpstreamError):
    """At least one delivery of a digest run failed; the run stays retryable."""


class DigestEvent(Model):
    """The scheduler's input (`Input` of the template's ScheduleV2 events)."""

    model_config = ConfigDict(extra="ignore")
    schedule: str = Field(min_length=1, max_length=64)
    # An operator's "run it now" (the sandbox's fire route, a console test invoke): runs the period
    # of now under its own key, so the real scheduled run of the day still sends.
    manual: bool = False


# -- configuration: digests/config.py (shared with the features that read groups and texts) ------
configure, reset, digest_config, calendars, templates, robot_keys = (
    config.configure, config.reset, config.digest_config, config.calendars, config.templates, config.robot_keys)


# -- entry point --------------------------------------------------------------------------------


def run(schedule: str, now: datetime | None = None, *, manual: bool = False) -> dict[str, Any]:
    """Run one schedule at `now` (default: the clock). Raises InvalidInput for an unknown schedule,
    DigestDeliveryFailed when a delivery failed (after recording it).

    `manual`: an operator's run now: it covers now's period (not the last scheduled fire's, which on
    a Monday morning is Sunday's) under a key of its own, and says why when it sends nothing."""
    now = now or get_clock().now()
    spec = digest_config().schedule(schedule)
    if spec.digest in RECONCILERS:
        module, func = RECONCILERS[spec.digest].split(":")
        return {"schedule": schedule, "result": getattr(importlib.import_module(module), func)()}
    calendar = calendars().get(spec.calendar)
    if not should_fire(spec, calendar, now):
        logger.info("schedule skipped (disabled or not a workday)", extra={"schedule": schedule})
        reason = (f"schedule {schedule!r} is disabled" if not spec.enabled else
                  f"{local_date(spec, now).isoformat()} is not a workday of calendar {spec.calendar!r}")
        return {"schedule": schedule, "status": "skipped", "reason": reason}
    if spec.digest == DigestKind.NOTICE_FOLLOWUP:
        from wecom_oa.notices.service import run_followup

        return {"schedule": schedule, "status": "done", **run_followup(now)}
    key = f"{spec.name}:manual:{now.astimezone(spec.tz):%Y-%m-%dT%H:%M:%S}" if manual else period_key(spec, now)
    runs = RunStore(app_table())
    claimed = runs.claim(key, now)
    if claimed is None:
        logger.info("schedule already ran for this period", extra={"schedule": schedule, "period": key})
        return {"schedule": schedule, "status": "duplicate", "period": key}
    ctx = RunContext(spec, key, now, calendar, runs, sent=set(claimed.get("sent") or {}))
    try:
        _BUILDERS[spec.digest](ctx)
    except Exception:
        runs.finish(key, "failed")
        raise
    if ctx.failures:
        runs.finish(key, "failed", failures=ctx.failures)
        raise DigestDeliveryFailed(f"schedule {schedule!r}: {len(ctx.failures)} deliveries failed",
                                   details={"period": key, "failed": ctx.failures})
    runs.finish(key, "done", deliveries=ctx.delivered)
    result = {"schedule": schedule, "status": "done", "period": key, "deliveries": ctx.delivered}
    if ctx.delivered == 0:
        result["reason"] = "nothing to send: no content for this period, or already sent"
    return result


@dataclass
class RunContext:
    spec: ScheduleSpec
    period: str
    now: datetime
    calendar: BusinessCalendar
    runs: RunStore
    sent: set[str] = field(default_factory=set)
    delivered: int = 0
    failures: list[str] = field(default_factory=list)

    def deliver(self, delivery: str, target: Target, parts: Sequence[str], msgtype: MsgType = "markdown") -> bool:
        """Send once per period: skipped when already recorded as sent by an earlier attempt."""
        if delivery in self.sent or not parts:
            return True
        try:
            send(target, parts, msgtype)
        except OAError as exc:
            logger.error("digest delivery failed", extra={
                "schedule": self.spec.name, "period": self.period, "delivery": delivery,
                "target_kind": target.kind, "error": type(exc).__name__, "errcode": getattr(exc, "errcode", None)})
            metrics.add_metric(name="DigestDeliveryFailed", unit=MetricUnit.Count, value=1)
            self.failures.append(delivery)
            return False
        self.runs.mark_sent(self.period, delivery)
        self.sent.add(delivery)
        self.delivered += 1
        return True


def send(target: Target, parts: Sequence[str], msgtype: MsgType = "markdown") -> None:
    """Deliver `parts` (each within the channel's limit) to a robot, an app chat or app users."""
    client = wiring.wecom_client()
    if target.kind == "robot":
        from wecom_oa.wecom.robot import RobotClient, RobotWebhookInvalid

        key = robot_keys().get(target.ref)
        if not key:
            raise RobotWebhookInvalid(f"no robot key configured under {target.ref!r}", api="webhook/send")
        robot = RobotClient(api_base=get_settings().wecom_api_base, http=client.http)
        for part in parts:
            (robot.send_markdown if msgtype == "markdown" else robot.send_text)(key, part)
    elif target.kind == "appchat":
        for part in parts:
            (client.appchat_send_markdown if msgtype == "markdown" else client.appchat_send_text)(target.ref, part)
    else:
        users, parties = _app_recipients(target.ref)
        sender = wiring.sender()
        for part in parts:
            (sender.send_markdown if msgtype == "markdown" else sender.send_text)(part, touser=users, toparty=parties)


def _app_recipients(ref: str) -> tuple[list[str], list[str]]:
    if ref.startswith("@"):
        raise ConfigurationError(f"target ref {ref!r} cannot be used for this digest")
    items = [r for r in ref.split("|") if r]
    return [r for r in items if not r.startswith("party:")], [r[6:] for r in items if r.startswith("party:")]


def _limit(target: Target) -> int:
    return ROBOT_MARKDOWN_LIMIT if target.kind == "robot" else APP_MARKDOWN_LIMIT


def _group_target(spec: ScheduleSpec, group: ProjectGroup | None) -> Target:
    if spec.target is not None and spec.target.ref != "@group":
        return spec.target
    if group is None:
        raise ConfigurationError(f"schedule {spec.name!r}: target '@group' needs a project group")
    return group.target


# -- daily summary ------------------------------------------------------------------------------


def _daily_summary(ctx: RunContext) -> None:
    from wecom_oa.digests.domain import build_daily_summaries, render_markdown, should_send

    config, spec = digest_config(), ctx.spec
    groups = [g for g in config.groups if not spec.filters.groups or g.id in spec.filters.groups]
    items = list(open_items(groups, ctx.now))
    summaries = build_daily_summaries(
        {g.id: g.name for g in groups}, items, ctx.now, base_url=config.base_url, links=config.links,
        top_n=spec.top_n, risk_threshold=spec.filters.risk_threshold, item_kinds=spec.filters.item_kinds,
        timezone=spec.timezone)
    for group in groups:
        summary = summaries[group.id]
        if not should_send(ctx.calendar, summary.day, summary=summary, only_if_non_empty=spec.only_if_non_empty):
            continue
        target = _group_target(spec, group)
        parts = render_markdown(summary, templates(), limit_bytes=_limit(target), mentions=target.kind == "robot")
        ctx.deliver(f"group:{group.id}", target, parts)


def open_items(groups: Iterable[ProjectGroup], now: datetime) -> Iterable[OpenItem]:
    """Open tickets of each group's teams, open tasks and pending approvals of the groups, read from
    the sparse gsi1 index only (items read ≈ open items)."""
    table = app_table()
    groups = list(groups)
    ids = {g.id for g in groups}
    for group in groups:
        for team in group.teams:
            for item in table.query(Keys.open_index("TICKET", team, "", "")["gsi1pk"], index=GSI_OPEN):
                yield _open_item("ticket", item, group.id, now)
        for item in table.query(Keys.open_index("TASK", group.id, "", "")["gsi1pk"], index=GSI_OPEN):
            yield _open_item("task", item, group.id, now)
    for item in table.query(Keys.open_index("APPROVAL", None, "", "")["gsi1pk"], index=GSI_OPEN):
        if item.get("group") in ids:
            yield _open_item("approval", item, item["group"], now)
    for item in table.query(Keys.open_index("ALERT", None, "", "")["gsi1pk"], index=GSI_OPEN):
        for group_id in item.get("digest_groups") or []:  # unclaimed incidents (alerts/service.py)
            if group_id in ids:
                yield _open_item("alert", item, group_id, now)


def _open_item(kind: str, item: Mapping[str, Any], group: str, now: datetime) -> OpenItem:
    """An open-index item as a summary line. Approvals (services.approvals) carry `group`,
    `current_approver` / `owner_name` while a stage waits and `due_at` when the stage has a timeout."""
    owner = item.get("assignee") or item.get("owner") or item.get("current_approver")
    title = item.get("title") or (_approval_title(item) if kind == "approval" else None) or item.get("type") or kind
    from wecom_oa.digests.domain import OpenItem

    due_at, ratio = item.get("due_at"), None
    if kind == "alert":  # unclaimed since its first message: a risk until someone claims it
        due_at, ratio = item.get("notified_at"), 1.0
    elif kind == "ticket":  # the SLA clocks decide, not the timer's next wake-up
        from wecom_oa.tickets.service import sla_snapshot

        due_at, ratio = sla_snapshot(dict(item), now)
    return OpenItem.model_validate({
        "kind": kind, "id": item.get("id") or item["pk"].split("#", 1)[1],
        "title": title, "group": group, "owner": owner,
        "owner_name": item.get("owner_name") or (_name(owner) if owner else None), "due_at": due_at,
        "sla_ratio": ratio,
    })


def _name(userid: str) -> str | None:
    try:
        return wiring.directory().user(userid).name
    except Exception:  # noqa: BLE001 - a name is a nicety; the line still lists the item
        return None


def _approval_title(item: Mapping[str, Any]) -> str:
    """`<type name> · <applicant> · <reason>` (type names: templates/approval_notifications.yaml)."""
    from wecom_oa.approvals.service import type_name

    form = item.get("form") if isinstance(item.get("form"), Mapping) else {}
    parts = [type_name(str(item["type"])) if item.get("type") else "", item.get("applicant_name") or "",
             str(form.get("reason") or "")]
    return " · ".join(p for p in parts if p)


# -- production progress ------------------------------------------------------------------------


def _production_progress(ctx: RunContext) -> None:
    config, spec = digest_config(), ctx.spec
    store = OrderStore(app_table())
    groups = {g.id: g for g in config.groups}
    tables: dict[Target, tuple[str, list[ProgressSnapshot]]] = {}
    for item in list(store.open_orders()):
        plan = ProductionPlan.model_validate(item["plan"])
        state = AlarmState.model_validate(item["alarm"]) if item.get("alarm") else None
        assessment = assess(plan, float(item.get("actual_qty", 0)), ctx.now, state, config.progress)
        group = groups.get(plan.group)
        target = group.target if group else _group_target(spec, None)
        message = render_assessment(assessment, templates(), spec.tz)
        delivered = message is None or ctx.deliver(f"{assessment.outcome}:{plan.order_id}", target, [message])
        if delivered and assessment.state != (state or AlarmState()):
            try:  # saved after delivery: a failed alarm is re-assessed (and re-sent) by the retry
                store.save_state(plan.order_id, assessment.state, item.get("version"))
            except Conflict:
                logger.warning("order alarm state changed concurrently", extra={"order_id": plan.order_id})
        name = group.name if group else plan.group or templates().text("progress.default_group")
        tables.setdefault(target, (name, []))[1].append(
            assessment.snapshot)
        if assessment.snapshot.actual_qty >= plan.total_qty:
            store.close(plan.order_id)
    for target, (name, snapshots) in tables.items():
        lines = render_progress_lines(snapshots, templates(), spec.tz, group_name=name, now=ctx.now)
        parts = split_markdown(lines, _limit(target), continued=templates().text("daily_summary.continued"))
        ctx.deliver(f"table:{target.kind}:{target.ref}", target, parts)


def progress_board(now: datetime) -> list[dict[str, Any]]:
    """Every open order's plan vs actual at `now`, its projection and alarm state (the console's
    生产进度 board): read only; the hourly run alone changes alarm states."""
    config = digest_config()
    board = []
    for item in OrderStore(app_table()).open_orders():
        plan = ProductionPlan.model_validate(item["plan"])
        state = AlarmState.model_validate(item["alarm"]) if item.get("alarm") else AlarmState()
        snap = assess(plan, float(item.get("actual_qty", 0)), now, state, config.progress).snapshot
        board.append({"plan": plan, "snapshot": snap, "alarming": state.alarming,
                      "behind": snap.behind_pct >= config.progress.alarm_behind_pct})
    return board


def record_progress(post: ProgressPost) -> dict[str, Any]:
    """POST /progress: store production plans and cumulative actuals. 400 names the unknown order
    (an actual whose order has no plan, neither stored nor in the body)."""
    store = OrderStore(app_table())
    check_known_orders(post, store.plans({a.order_id for a in post.actuals}))
    now = get_clock().now()
    for plan in post.plans:
        store.save_plan(plan)
    accepted = sum(store.save_actual(actual, now) for actual in post.actuals)
    return {"plans": len(post.plans), "actuals": accepted, "ignored_older": len(post.actuals) - accepted}


# -- daily reports ------------------------------------------------------------------------------


def record_reports(post: ReportsPost) -> dict[str, Any]:
    """POST /reports: record daily reports of members (history may name people who have left)."""
    from wecom_oa import people

    people.require_members([r.userid for r in post.reports], "reports.userid", active=False)
    store = ReportStore(app_table())
    now = get_clock().now()
    for report in post.reports:
        store.save(report, now)
    return {"stored": len(post.reports)}


JOURNAL_PERMISSION_HINT = "grant the WeCom app the 汇报 API (管理后台 → 汇报 → 可调用接口的应用)"


def import_journals(spec: ScheduleSpec, now: datetime, calendar: BusinessCalendar, policy: ReportPolicy) -> int:
    """Copy the WeCom 汇报 journals that count as daily reports (policy templates) into the
    ReportStore, dated by the local date of submission, from the first day that can change today's
    decision (`journal_window_start`) until `now`. Idempotent: one report per user and date.

    A failing journal API (48002 when the app lacks the 汇报 permission, or WeCom down) is logged as
    a warning naming the permission and counted (metric `JournalImportFailed`); what was imported
    before the failure stays, and the digest goes on with the reports it has. Returns the number saved."""
    if not policy.imports_journals:
        return 0
    start = datetime.combine(journal_window_start(calendar, local_date(spec, now), policy), time.min, tzinfo=spec.tz)
    client, store, saved = wiring.wecom_client(), ReportStore(app_table()), 0
    try:
        for uuid in _journal_uuids(client, start, now, policy):
            record = client.oa_journal_record_detail(uuid)
            if policy.journal_counts(record.template_name, record.template_id):
                day = datetime.fromtimestamp(record.report_time, spec.tz).date()
                store.save(DailyReport(userid=record.submitter.userid, date=day, source="wecom"), now)
                saved += 1
    except OAError as exc:
        logger.warning("WeCom journal import failed; missing reports use POST /reports data only", extra={
            "schedule": spec.name, "error": type(exc).__name__, "errcode": getattr(exc, "errcode", None),
            "hint": JOURNAL_PERMISSION_HINT, "imported": saved})
        metrics.add_metric(name="JournalImportFailed", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="JournalsImported", unit=MetricUnit.Count, value=saved)
    return saved


def _journal_uuids(client: Any, start: datetime, end: datetime, policy: ReportPolicy) -> Iterable[str]:
    """Filtered by WeCom per template id when only ids are configured (no detail call for other
    journals); otherwise every journal, matched by name after the detail call."""
    if policy.journal_templates:
        return client.oa_journal_record_list(start, end)
    return (uuid for tid in policy.journal_template_ids
            for uuid in client.oa_journal_record_list(start, end, filters=[{"key": "template_id", "value": tid}]))


# Reports on weekends or holidays do not break a streak; reading this many recent dates finds the
# latest workday report unless someone filed more than a month of off-day reports since.
RECENT_REPORTS_READ = 31


def _latest_workday_report(store: ReportStore, userid: str, last_counted: Any, calendar: Any) -> list[Any]:
    """[the user's latest report date that is a workday] or []: only that date decides the streak."""
    dates = store.dates_on_or_before(userid, last_counted, limit=RECENT_REPORTS_READ)
    return next(([d] for d in dates if calendar.is_workday(d)), [])


def _missing_reports(ctx: RunContext) -> None:
    """Remind members whose daily reports are missing, without flooding anyone:
    - tracking starts per member on the first run that sees them (a fresh deployment or a new
      joiner is not behind on day one); approved leave and non-workdays do not count;
    - a member is reminded when a streak reaches the threshold, then every `remind_every_workdays`
      further missing workdays of that streak;
    - the leader (and `hr_recipients` at `hr_after_workdays`) hears once per streak.
    What was told is recorded per member (REPORTTRACK), after the delivery succeeded."""
    from wecom_oa.approvals import leaves

    policy, directory = digest_config().reports, wiring.directory()
    import_journals(ctx.spec, ctx.now, ctx.calendar, policy)
    today = local_date(ctx.spec, ctx.now)
    last_counted = today if policy.include_today else today - timedelta(days=1)
    users = [u for u in directory.department_members(ROOT_DEPARTMENT) if directory.user(u).status == 1]
    table, store = app_table(), ReportStore(app_table())
    tracking = {item["sk"]: item for item in table.query(Keys.report_tracking("")["pk"])}
    for userid in users:
        if userid not in tracking:
            tracking[userid] = {**Keys.report_tracking(userid), "since": today.isoformat()}
            table.put(tracking[userid])
    since = {u: date.fromisoformat(tracking[u]["since"]) for u in users}
    report_dates = {u: _latest_workday_report(store, u, last_counted, ctx.calendar) for u in users}
    first = last_counted - timedelta(days=policy.lookback_days)
    excused = {u: leaves.days_on_leave(u, first, last_counted) for u in users if since[u] <= last_counted}
    missing = find_missing(users, report_dates, ctx.calendar, today, policy, active_since=since, excused=excused)
    filled, _ = with_leaders(missing, directory)
    told: dict[str, dict[str, Any]] = {}
    for item in filled:
        t, start = tracking[item.userid], item.dates[0].isoformat()
        due = t.get("reminded_start") != start or \
            item.streak - int(t.get("reminded_streak", 0)) >= policy.remind_every_workdays
        if due and ctx.deliver(f"remind:{item.userid}", Target(kind="app", ref=item.userid),
                               [render_reminder(item, templates())], "text"):
            told.setdefault(item.userid, {}).update(reminded_start=start, reminded_streak=item.streak)
    new_streaks = [i for i in filled if tracking[i.userid].get("noted_start") != i.dates[0].isoformat()]
    if policy.notify_leader:
        _, notes = with_leaders(new_streaks, directory)
        for note in notes:
            names = {m.userid: directory.user(m.userid).name for m in note.members}
            if ctx.deliver(f"leader:{note.leader}", Target(kind="app", ref=note.leader),
                           [render_leader_note(note, templates(), names)], "text"):
                for m in note.members:
                    told.setdefault(m.userid, {})["noted_start"] = m.dates[0].isoformat()
    for item in new_streaks:  # members without a leader: nobody to tell, the streak is noted all the same
        if item.leader is None:
            told.setdefault(item.userid, {})["noted_start"] = item.dates[0].isoformat()
    hr_due = [i for i in filled if i.streak >= policy.hr_after_workdays
              and tracking[i.userid].get("hr_start") != i.dates[0].isoformat()]
    if policy.hr_recipients and hr_due:
        names = {m.userid: directory.user(m.userid).name for m in hr_due}
        note = LeaderNote(leader=policy.hr_recipients[0], members=hr_due)
        if ctx.deliver("hr", Target(kind="app", ref="|".join(policy.hr_recipients)),
                       [render_leader_note(note, templates(), names)], "text"):
            for m in hr_due:
                told.setdefault(m.userid, {})["hr_start"] = m.dates[0].isoformat()
    for userid, fields in told.items():
        table.update(Keys.report_tracking(userid), set_fields=fields, must_exist=False)


def _task_reminders(ctx: RunContext) -> None:
    """Each owner of open tasks past their due time (to-dos, workflow tasks) gets one text listing
    them, oldest due first; the run's period key makes it once a workday. Read from the open index
    only (items read ≈ open tasks)."""
    table, t = app_table(), templates()
    overdue: dict[str, list[tuple[datetime, str]]] = {}
    for group in digest_config().groups:
        for item in table.query(Keys.open_index("TASK", group.id, "", "")["gsi1pk"], index=GSI_OPEN):
            due = item.get("due_at")
            if item.get("status") == "open" and due and item.get("owner") and datetime.fromisoformat(due) < ctx.now:
                overdue.setdefault(item["owner"], []).append((datetime.fromisoformat(due), item.get("title") or ""))
    for owner, items in sorted(overdue.items()):
        items.sort()
        lines = [t.fill("tasks.overdue_header", count=len(items))] + [
            t.fill("tasks.overdue_line", title=title, due=due.astimezone(ctx.spec.tz).strftime("%m-%d %H:%M"))
            for due, title in items]
        ctx.deliver(f"overdue:{owner}", Target(kind="app", ref=owner), ["\n".join(lines)], "text")


_BUILDERS = {
    DigestKind.DAILY_SUMMARY: _daily_summary,
    DigestKind.PRODUCTION_PROGRESS: _production_progress,
    DigestKind.MISSING_REPORTS: _missing_reports,
    DigestKind.TASK_REMINDERS: _task_reminders,
}
