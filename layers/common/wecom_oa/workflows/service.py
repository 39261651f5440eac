"""Task workflows: a template's tasks (config/workflows/*.yaml) started for a subject (a new hire,
an iteration), each sent to its owner as a to-do (the tasks feature: a card with 完成, listed in
the group's 18:00 summary with its due time) once every task it waits for is done.

- `start` validates everything before it writes anything: the template, the subject, the
  assignments, and that every role resolves to an active member. Then it stores the workflow and
  its steps, sends the tasks without prerequisites and the welcome message.
- A task closing (card click, `POST /tasks/{id}/done`, `POST /workflows/{id}/tasks/{key}/done`)
  reaches `on_task_closed` through the events queue (the tasks feature publishes its `on_close`
  kind); each successor counts the finished prerequisite once and is unlocked once (store.py),
  however often the event is delivered and however many prerequisites finish at the same instant.
- When the last task is done the owner role (HR, the project manager) is told, with the elapsed
  business time. `cancel` cancels the open tasks and tells each owner once.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from wecom_oa import wiring
from wecom_oa.aws.dynamo import app_table
from wecom_oa.clock import company_stamp, get_clock
from wecom_oa.errors import IllegalTransition, InvalidInput, NotFound
from wecom_oa.observability import logger, metrics
from wecom_oa.settings import get_settings
from wecom_oa.workflows.models import StartWorkflow
from wecom_oa.workflows.store import WorkflowRepository
from wecom_oa.workflows.templates import WorkflowTemplate, critical_path, shipped

CLOSED_KIND = "workflow_task_closed"  # the events-queue kind the tasks feature publishes (worker.py)
SOURCE = "workflow"


def repo() -> WorkflowRepository:
    return WorkflowRepository(app_table())


def texts() -> Any:
    from wecom_oa.texts import Templates

    return Templates.load(get_settings().templates_dir / "workflows.yaml")


def _template(key: str) -> WorkflowTemplate:
    templates = shipped()
    if key not in templates:
        raise InvalidInput(f"template: unknown workflow template {key!r}; one of {', '.join(sorted(templates))}",
                           details=[{"field": "template", "problem": "unknown workflow template"}])
    return templates[key]


def _calendar() -> Any:
    from wecom_oa.worktime.calendar import company_calendars

    return company_calendars().get()


# ------------------------------------------------------------------------------ start
def resolve_roles(template: WorkflowTemplate, subject: Mapping[str, str],
                  assignments: Mapping[str, str]) -> dict[str, str]:
    """Each role → the userid that does its tasks. InvalidInput names the role that resolves to
    nobody (a leaver, a subject without a leader, a missing assignment)."""
    from wecom_oa.directory import leader

    directory = wiring.directory()

    def active(userid: str | None) -> bool:
        if not userid:
            return False
        try:
            return directory.user(userid).status == 1
        except NotFound:
            return False

    out: dict[str, str] = {}
    for name, role in template.roles.items():
        if role.users is not None:
            who = next((u for u in role.users if active(u)), None)
        elif role.subject is not None:
            who = subject.get(role.subject)
        elif role.leader_of is not None:
            who = leader(directory, subject[role.leader_of]) if subject.get(role.leader_of) else None
        else:
            who = assignments.get(role.assignment or "")
        if not active(who):
            field = f"assignments.{role.assignment}" if role.assignment else f"roles.{name}"
            problem = f"role {name} ({role.label}) resolves to nobody active" + (f" ({who!r})" if who else "")
            raise InvalidInput(f"{field}: {problem}", details=[{"field": field, "problem": problem}])
        out[name] = str(who)
    return out


def _check_subject(template: WorkflowTemplate, req: StartWorkflow) -> None:
    from wecom_oa import people

    if unknown := sorted(set(req.subject) - set(template.subject)):
        raise InvalidInput(f"subject.{unknown[0]}: not a field of {template.key} (fields: {', '.join(template.subject)})",
                           details=[{"field": f"subject.{k}", "problem": "unknown field"} for k in unknown])
    for name, field in template.subject.items():
        if not req.subject.get(name):
            raise InvalidInput(f"subject.{name}: {field.label} is required",
                               details=[{"field": f"subject.{name}", "problem": "required"}])
        if field.type == "user":
            people.require_member(req.subject[name], f"subject.{name}")
    wanted = set(template.assignments())
    if unknown := sorted(set(req.assignments) - wanted):
        raise InvalidInput(f"assignments.{unknown[0]}: {template.key} takes no such assignment "
                           f"(takes: {', '.join(sorted(wanted)) or 'none'})",
                           details=[{"field": f"assignments.{k}", "problem": "unknown assignment"} for k in unknown])


def start(req: StartWorkflow, *, workflow_id: str | None = None) -> dict[str, Any]:
    """POST /workflows: validate, store, send the first tasks; nothing is written on a 4xx. A given
    `workflow_id` (an approval's) is started once: `AlreadyExists` when it was before."""
    from wecom_oa.tasks import service as tasks

    template = _template(req.template)
    _check_subject(template, req)
    tasks.require_group(template.group)
    owners = resolve_roles(template, req.subject, req.assignments)
    now = get_clock().now()
    started = req.starts_at or now
    calendar = _calendar()
    tz = ZoneInfo(get_settings().default_timezone)  # due times read in the company's time, as people see them
    workflow_id = workflow_id or f"WF{company_stamp(now)}-{secrets.token_hex(4)}"
    steps = [{"key": t.key, "title": t.title, "role": t.role, "owner": owners[t.role], "after": t.after,
              "due_at": calendar.add_business_time(started, t.due).astimezone(tz).isoformat(),
              "state": "locked", "task_id": tasks.task_id_for(_external_id(workflow_id, t.key))}
             for t in template.tasks]
    meta = {"id": workflow_id, "template": template.key, "name": template.name, "subject": dict(req.subject),
            "subject_label": _subject_label(template, req.subject), "assignments": dict(req.assignments),
            "owner": owners[template.owner_role], "group": template.group, "status": "running",
            "started_at": started.isoformat(), "created_at": now.isoformat(), "total": len(steps),
            "done_count": 0, "source": req.source}
    repo().create(meta, steps)
    metrics.add_metric(name="WorkflowStarted", unit="Count", value=1)
    for step in steps:
        if not step["after"]:
            _unlock(meta, step)
    _welcome(template, meta, steps, owners)
    return view(workflow_id)


def start_for_approval(a: Mapping[str, Any]) -> list[str]:
    """The workflows whose template starts on an approved `a` of its type (`start_on`), each once
    per approval (its id is derived from the approval's). A workflow that cannot start (a role
    resolving to nobody) is logged and counted, never breaks the approval's other post actions.
    Returns the ids started now."""
    from wecom_oa.errors import AlreadyExists, OAError

    form = a.get("form") or {}
    started = []
    for template in shipped().values():
        rule = template.start_on
        if rule is None or rule.approval != a.get("type"):
            continue
        subject = {k: str(form[v]) for k, v in rule.subject.items() if form.get(v) not in (None, "")}
        assignments = {k: str(form[v]) for k, v in rule.assignments.items() if form.get(v) not in (None, "")}
        starts_at = _start_of_day(form.get(rule.starts_on)) if rule.starts_on else None
        workflow_id = f"WF-{template.key}-{a['id']}"
        try:
            start(StartWorkflow(template=template.key, subject=subject, assignments=assignments, starts_at=starts_at,
                                source=f"approval:{a['id']}"), workflow_id=workflow_id)
            started.append(workflow_id)
        except AlreadyExists:
            logger.info("workflow of the approval started before", extra={"workflow_id": workflow_id})
        except OAError as exc:
            logger.warning("workflow not started from the approval", extra={"approval_id": a["id"],
                                                                            "template": template.key, "error": exc.message})
            metrics.add_metric(name="WorkflowStartFailed", unit="Count", value=1)
    return started


def _start_of_day(value: Any) -> datetime | None:
    """09:00 company time on the date `value` names (an ISO date); None when it names none."""
    from datetime import date, time

    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return None
    return datetime.combine(day, time(9, 0), tzinfo=ZoneInfo(get_settings().default_timezone))


def _external_id(workflow_id: str, key: str) -> str:
    return f"workflow:{workflow_id}:{key}"


def _subject_label(template: WorkflowTemplate, subject: Mapping[str, str]) -> str:
    """The subject as people read it: the first field, a user by name."""
    if not template.subject:
        return ""
    name, field = next(iter(template.subject.items()))
    value = subject.get(name, "")
    return _name(value) if field.type == "user" else value


def _name(userid: str) -> str:
    from wecom_oa.people import display_name

    return display_name(userid)


def _unlock(meta: Mapping[str, Any], step: Mapping[str, Any]) -> None:
    """Send `step`'s task to its owner, once: the `locked → open` write decides who sends."""
    from wecom_oa.tasks import service as tasks
    from wecom_oa.tasks.models import CreateTaskRequest

    workflow_id = meta["id"]
    if not repo().unlock(workflow_id, step["key"], step["task_id"], get_clock().now()):
        return
    template = _template(meta["template"])
    role = template.roles[step["role"]].label
    description = texts().fill("unlocked", workflow=meta["name"], subject=meta.get("subject_label") or "",
                               title=step["title"], role=role, due=step["due_at"][:16].replace("T", " "))
    tasks.create(CreateTaskRequest(
        title=f"{meta['name']}·{meta.get('subject_label') or ''}：{step['title']}"[:200], owner=step["owner"],
        group=meta["group"], due_at=datetime.fromisoformat(step["due_at"]), description=description,
        source=SOURCE, external_id=_external_id(workflow_id, step["key"])),
        on_close=CLOSED_KIND, ref={"workflow_id": workflow_id, "step": step["key"]})
    logger.info("workflow task unlocked", extra={"workflow_id": workflow_id, "step": step["key"]})


def _welcome(template: WorkflowTemplate, meta: Mapping[str, Any], steps: list[dict[str, Any]],
             owners: Mapping[str, str]) -> None:
    if template.welcome is None:
        return
    to = meta["subject"][template.welcome.to]
    leader_role = next((n for n, r in template.roles.items() if r.leader_of), None)
    mentor_role = next((n for n, r in template.roles.items() if r.assignment == "mentor"), None)
    missing = texts().text("subject_missing")
    own = [s["title"] for s in steps if s["owner"] == to]
    content = texts().fill(template.welcome.template, name=_name(to),
                           mentor_name=_name(owners[mentor_role]) if mentor_role else missing,
                           leader_name=_name(owners[leader_role]) if leader_role else missing,
                           own_tasks="、".join(own) or missing)
    try:
        wiring.sender().send_text(content, touser=[to])
    except Exception:  # noqa: BLE001 - the welcome is a courtesy: the workflow is started
        logger.exception("workflow welcome not sent", extra={"workflow_id": meta["id"]})


# ------------------------------------------------------------------------------ progress
def on_task_closed(message: Mapping[str, Any]) -> None:
    """A workflow's task was done or cancelled (the tasks feature's `on_close` event)."""
    ref = message.get("ref") or {}
    workflow_id, key = ref.get("workflow_id"), ref.get("step")
    if not workflow_id or not key:
        logger.warning("workflow task event without its workflow", extra={"task_id": message.get("task_id")})
        return
    if message.get("status") == "done":
        _step_done(workflow_id, key, message.get("by"))
    else:
        repo().finish(workflow_id, key, "cancelled", message.get("by"), get_clock().now())


def _step_done(workflow_id: str, key: str, by: str | None, meta: Mapping[str, Any] | None = None) -> None:
    """Count `key` done and unlock what now may start; `meta` is the workflow when the caller read it."""
    store = repo()
    now = get_clock().now()
    meta = meta or store.get(workflow_id)
    if meta["status"] != "running":
        return
    if store.finish_done(workflow_id, key, by, now):
        meta = store.get(workflow_id)
        if int(meta.get("done_count", 0)) >= int(meta["total"]):
            _complete(meta, now)
            return
    template = _template(meta["template"])
    for successor in template.successors()[key]:
        step = store.count_done_prerequisite(workflow_id, successor, key) or store.step(workflow_id, successor)
        if step["state"] == "locked" and set(step.get("done_after") or ()) >= set(step["after"]):
            _unlock(meta, step)


def _complete(meta: Mapping[str, Any], now: datetime) -> None:
    closed = repo().close(meta["id"], "completed", now)
    if closed is None:
        return

    calendar = _calendar()
    elapsed = calendar.business_time_between(datetime.fromisoformat(meta["started_at"]), now)
    content = texts().fill("completed", workflow=meta["name"], subject=meta.get("subject_label") or "",
                           count=meta["total"], elapsed=calendar.texts.duration(elapsed))
    metrics.add_metric(name="WorkflowCompleted", unit="Count", value=1)
    wiring.sender().send_text(content, touser=[meta["owner"]])


def done_step(workflow_id: str, key: str, by: str | None) -> dict[str, Any]:
    """POST /workflows/{id}/tasks/{key}/done: a locked task answers 409 naming what it waits for."""
    from wecom_oa.tasks import service as tasks

    meta = repo().get(workflow_id)
    step = repo().step(workflow_id, key)
    if step["state"] == "locked":
        waiting = [k for k in step["after"] if k not in set(step.get("done_after") or ())]
        raise IllegalTransition(f"task {key} is locked: it waits for {', '.join(waiting)}",
                                details={"status": "locked", "action": "done", "waiting_for": waiting})
    if step["state"] == "cancelled" or meta["status"] == "cancelled":
        raise IllegalTransition(f"task {key} is cancelled", details={"status": "cancelled", "action": "done"})
    if by:
        from wecom_oa import people

        people.require_actor(by)
    tasks.done(step["task_id"], by)
    _step_done(workflow_id, key, by, meta)  # at once; the queued event that follows finds it done
    return view(workflow_id)


def cancel(workflow_id: str, by: str | None) -> dict[str, Any]:
    """Cancel a running workflow: its open tasks are cancelled and each owner told once; its locked
    ones are cancelled silently (their owners never got them). 409 when it is not running."""
    from wecom_oa.tasks import service as tasks

    if by:
        from wecom_oa import people

        people.require_actor(by)
    store = repo()
    meta = store.get(workflow_id)
    now = get_clock().now()
    if store.close(workflow_id, "cancelled", now, by) is None:
        raise IllegalTransition(f"workflow {workflow_id} is {meta['status']}, it cannot be cancelled",
                                details={"status": meta["status"], "action": "cancel"})
    for step in store.steps(workflow_id):
        if step["state"] == "locked":
            store.cancel_locked(workflow_id, step["key"], now)
        elif step["state"] == "open" and store.finish(workflow_id, step["key"], "cancelled", by, now):
            tasks.cancel(step["task_id"], by)
            content = texts().fill("cancelled", workflow=meta["name"], subject=meta.get("subject_label") or "",
                                   title=step["title"])
            try:
                wiring.sender().send_text(content, touser=[step["owner"]])
            except Exception:  # noqa: BLE001 - the cancellation stands; the sender parks what it cannot send
                logger.exception("workflow cancel notice not sent", extra={"workflow_id": workflow_id})
    return view(workflow_id)


# ------------------------------------------------------------------------------ view
def view(workflow_id: str) -> dict[str, Any]:
    """GET /workflows/{id}: each task's state, owner, due time; progress and the critical path."""
    meta, steps = repo().load(workflow_id)
    template = _template(meta["template"])
    by_key = {s["key"]: s for s in steps}
    now = get_clock().now()
    tasks_out = []
    for spec in template.tasks:
        step = by_key.get(spec.key, {})
        state = step.get("state", "locked")
        due = step.get("due_at")
        tasks_out.append({
            "key": spec.key, "title": spec.title, "role": spec.role, "owner": step.get("owner"),
            "owner_name": _name(step["owner"]) if step.get("owner") else None, "state": state, "after": spec.after,
            "due_at": due, "overdue": bool(due and state in ("locked", "open") and datetime.fromisoformat(due) < now),
            "task_id": step.get("task_id") if state != "locked" else None,
            "done_at": step.get("done_at"), "done_by": step.get("done_by")})
    done = sum(1 for t in tasks_out if t["state"] == "done")
    return {"id": workflow_id, "template": meta["template"], "name": meta["name"], "subject": meta["subject"],
            "owner": meta["owner"], "status": meta["status"], "started_at": meta["started_at"],
            "completed_at": meta.get("completed_at"), "cancelled_at": meta.get("cancelled_at"),
            "progress": {"done": done, "total": len(tasks_out)},
            "critical_path": critical_path(template), "tasks": tasks_out}
