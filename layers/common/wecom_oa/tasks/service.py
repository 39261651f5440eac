"""Tasks (待办): to-dos other systems create and close, shown as 未完成任务 in the daily summary of
their project group (which reads them from the open index, see `services.digests.open_items`).

Contract
- `create` validates the group against `config/digests.yaml` groups and the owner in the directory,
  stores the task (open, in the open index) and texts the owner once (`templates/tasks.yaml`
  `messages.created`, with the summary's link). A task with an `external_id` gets an id derived from
  it (`task_id_for`), so a repeated create returns the first task (`created` False, HTTP 200) and
  writes nothing; if the owner's message failed the first time, the repeat sends it.
- `done` closes an open task once (records `done_at`, `done_by`); done again returns it unchanged
  (idempotent 200, the first `done_by` stays); a cancelled task cannot be done (409).
- Handover: an approved leave's colleagues (form `handover_to`) each get a task (external id
  `handover:{approval_id}:{userid}`, due the leave's first day at 09:00 in OA_TIMEZONE, group of the
  colleague's department by `ProjectGroup.departments`, no group → no task). No extra message: the
  handover reminder is it. A revoked leave cancels them. Best effort: a failure is logged and counted
  (`HandoverTaskFailed`), never breaks the approval's own post actions.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from wecom_oa import wiring
from wecom_oa.approvals.prechecks import ApprovalTemplates
from wecom_oa.aws.dynamo import app_table
from wecom_oa.clock import company_stamp, get_clock
from wecom_oa.digests import config as digests
from wecom_oa.digests.schedules import group_of
from wecom_oa.errors import AlreadyExists, IllegalTransition, InvalidInput, NotFound, OAError
from wecom_oa.observability import logger, metrics
from wecom_oa.settings import get_settings
from wecom_oa.tasks.models import CreateTaskRequest, DoneRequest, TaskList, TaskView
from wecom_oa.tasks.store import TaskRepository

HANDOVER_SOURCE = "handover"
HANDOVER_DUE = time(9, 0)


@lru_cache(maxsize=4)
def _texts(path: Path) -> ApprovalTemplates:
    return ApprovalTemplates.load(path)


def texts() -> ApprovalTemplates:
    """People-facing texts of tasks (templates/tasks.yaml)."""
    return _texts(get_settings().templates_dir / "tasks.yaml")


def repo() -> TaskRepository:
    return TaskRepository(app_table())


def group_ids() -> list[str]:
    return [g.id for g in digests.digest_config().groups]


def task_id_for(external_id: str) -> str:
    """The id of the task an external id creates: the same external id, the same task."""
    return "TKX-" + hashlib.sha256(external_id.encode("utf-8")).hexdigest()[:20]


def new_task_id(now: datetime) -> str:
    return f"TK{company_stamp(now)}-{secrets.token_hex(4)}"


def require_group(group: str) -> None:
    """InvalidInput naming `group` unless it is a configured project group (digests.yaml)."""
    groups = group_ids()
    if group not in groups:
        problem = f"unknown project group {group!r}; one of {', '.join(sorted(groups)) or '(none configured)'}"
        raise InvalidInput(f"group: {problem}", details=[{"field": "group", "problem": problem}])


# ------------------------------------------------------------------------------ commands
def create(request: CreateTaskRequest, *, notify: bool = True, on_close: str | None = None,
           ref: Mapping[str, str] | None = None) -> tuple[bool, dict[str, Any]]:
    """Store the task (and text its owner when `notify`). Returns (created, view); created is False
    when the external id was seen before. Raises `InvalidInput` naming `group` for a group that is
    not configured and `owner` for an unknown owner. `on_close`: the events-queue message kind
    published (with `ref`) when the task is done or cancelled, for the feature that made it."""
    require_group(request.group)
    owner_name = _owner_name(request.owner)
    now = get_clock().now()
    task_id = task_id_for(request.external_id) if request.external_id else new_task_id(now)
    item = {"id": task_id, **request.model_dump(mode="json", exclude_none=True), "owner_name": owner_name,
            "status": "open", "created_at": now.isoformat(),
            **({"on_close": on_close, "ref": dict(ref or {})} if on_close else {})}
    try:
        repo().create(item, due=request.due_at)
        created = True
        metrics.add_metric(name="TaskCreated", unit="Count", value=1)
    except AlreadyExists:
        if not request.external_id:
            raise
        item, created = repo().get(task_id), False
    if notify:
        _notify_once(item)
    return created, view(item)


def _owner_name(userid: str) -> str:
    try:
        return wiring.directory().user(userid).name
    except NotFound:
        raise InvalidInput(f"owner: unknown user {userid!r}",
                           details=[{"field": "owner", "problem": "not a member of the directory"}]) from None


def _notify_once(item: Mapping[str, Any], content: str | None = None) -> None:
    """Send the owner the to-do card (with `content`, else the `created` text) unless done before;
    a failure is logged and left for a repeated create."""
    if item.get("notified_at") or item.get("status") != "open":
        return
    due = _due_text(item.get("due_at"))
    if content is None:
        content = texts().text("messages", "created", title=item["title"], due=due, link=link(item["id"]))
    try:
        _send_task_card(item, due, content)
    except OAError as exc:
        logger.warning("task owner not messaged", extra={"task_id": item["id"], "error": exc.code})
        metrics.add_metric(name="TaskNotifyFailed", unit="Count", value=1)
        return
    repo().mark_notified(item["id"], get_clock().now())


def _send_task_card(item: Mapping[str, Any], due: str, content: str) -> None:
    """The owner's to-do card with a 完成 button (cards.yaml `task`); the text is the message."""
    from wecom_oa.messaging import cards
    from wecom_oa.wecom.cards import CardBuilder, new_task_id

    card_task_id = new_task_id("tsk")
    cards.register_card(card_task_id, "task", ref={"task_id": item["id"]}, recipients=[item["owner"]])
    card = CardBuilder(timezone=get_settings().default_timezone).task_card(
        task_id=card_task_id, title=item["title"][:40], due=due, link=link(item["id"]), content=content)
    from wecom_oa.messaging.sending import about

    with about(task_id=item["id"]):
        wiring.sender().send_template_card(card, touser=[item["owner"]])


def on_card_click(card: Mapping[str, Any], event: Any) -> None:
    """完成 on the to-do card: the task is done by the clicker and the button reads 已完成."""
    from wecom_oa.messaging import cards
    from wecom_oa.wecom.cards import DONE, CardBuilder

    if event.event_key != DONE:
        logger.warning("task card click with an unknown key ignored", extra={"key": event.event_key})
        return
    task_id, userid = card["ref"]["task_id"], event.from_user_name
    try:
        done(task_id, by=userid)
    except OAError as exc:  # cancelled meanwhile: nothing to do
        logger.info("task card click had no effect", extra={"task_id": task_id, "reason": exc.message})
        return
    code = cards.take_response_code(card["pk"].removeprefix("CARD#"), userid)
    if code is None:
        return
    try:
        wiring.sender().update_template_card(
            code, userids=[userid],
            replace_name=CardBuilder(timezone=get_settings().default_timezone).final_button_text("done"))
    except OAError:  # cosmetic: the task is done
        logger.warning("task card not updated", extra={"task_id": task_id})


def _due_text(due_at: str | None) -> str:
    if not due_at:
        return texts().text("messages", "no_due")
    local = datetime.fromisoformat(due_at).astimezone(ZoneInfo(get_settings().default_timezone))
    return local.strftime(texts().text("messages", "due_format"))


def done(task_id: str, by: str | None = None) -> dict[str, Any]:
    """Close an open task as done. Idempotent: a done task is returned as it is. Raises `NotFound`,
    `IllegalTransition` for a cancelled task."""
    closed = repo().close(task_id, "done", by, get_clock().now())
    if closed is not None:
        metrics.add_metric(name="TaskDone", unit="Count", value=1)
        _published_closed(closed, "done", by)
        return view(closed)
    item = repo().get(task_id)
    if item["status"] != "done":
        raise IllegalTransition(f"task {task_id} is {item['status']}, it cannot be done",
                                details={"status": item["status"], "action": "done"})
    return view(item)


def cancel(task_id: str, by: str | None = None) -> bool:
    """Close an open task as cancelled; False when it is not open (or absent)."""
    closed = repo().close(task_id, "cancelled", by, get_clock().now())
    if closed is not None:
        _published_closed(closed, "cancelled", by)
    return closed is not None


def _published_closed(item: Mapping[str, Any], status: str, by: str | None) -> None:
    """Tell the feature that made the task (its `on_close` kind) that it closed, through the events
    queue: at least once, keyed by task and status (the consumer is idempotent)."""
    if not item.get("on_close"):
        return
    wiring.events_queue_enqueue({"kind": item["on_close"], "key": f"{item['id']}:{status}", "task_id": item["id"],
                                 "status": status, "by": by, "ref": item.get("ref") or {}}, 0)


def link(task_id: str) -> str:
    """The task's page: the daily summary's link (`base_url` + `links.task` of digests.yaml)."""
    config = digests.digest_config()
    path = config.links.get("task", "/tasks/{id}")
    return config.base_url.rstrip("/") + path.format(id=quote(task_id, safe=""))


def view(item: Mapping[str, Any]) -> dict[str, Any]:
    return TaskView.model_validate({**item, "link": link(item["id"])}).model_dump(mode="json")


# ------------------------------------------------------------------------------ handover
def handover_external_id(approval_id: str, userid: str) -> str:
    return f"handover:{approval_id}:{userid}"


def handover_due(start: Any, tz: ZoneInfo) -> datetime | None:
    """The leave's first day at 09:00 local; None when `start` is not an ISO date (or datetime)."""
    try:
        day = date.fromisoformat(str(start)[:10])
    except ValueError:
        return None
    return datetime.combine(day, HANDOVER_DUE, tzinfo=tz)


def create_handover_tasks(a: Mapping[str, Any], colleagues: Iterable[str], applicant_name: str,
                          type_name: str, message: str) -> list[str]:
    """One task per colleague of an approved leave `a` (once, however often called), each sent to
    its owner as a to-do card with `message` and a 完成 button (once). Returns the colleagues who have
    their task (created now or before); the others have no project group and get `message` as text."""
    form = a.get("form") or {}
    values = {"applicant_name": applicant_name, "type_name": type_name, "approval_id": a["id"],
              "start": form.get("start", ""), "end": form.get("end", "")}
    due = handover_due(form.get("start"), ZoneInfo(get_settings().default_timezone))
    groups = _department_groups()
    if not groups:
        return []
    covered: list[str] = []
    for userid in colleagues:
        try:
            group = _group_of_user(userid, groups)
            if group is None:
                logger.info("handover task skipped: no project group", extra={"approval_id": a["id"],
                                                                              "userid": userid})
                continue
            _, task = create(CreateTaskRequest(
                title=texts().text("handover", "title", **values),
                description=texts().text("handover", "description", **values),
                owner=userid, group=group, due_at=due, source=HANDOVER_SOURCE,
                external_id=handover_external_id(a["id"], userid)), notify=False)
            _notify_once(repo().get(task["id"]), content=message)
            covered.append(userid)
        except Exception:  # noqa: BLE001 - best effort: the approval's post actions go on
            logger.exception("handover task not created", extra={"approval_id": a["id"], "userid": userid})
            metrics.add_metric(name="HandoverTaskFailed", unit="Count", value=1)
    return covered


def cancel_handover_tasks(a: Mapping[str, Any], colleagues: Iterable[str]) -> int:
    """Cancel the handover tasks of a revoked leave; returns how many were open."""
    count = 0
    for userid in colleagues:
        try:
            count += cancel(task_id_for(handover_external_id(a["id"], userid)))
        except Exception:  # noqa: BLE001 - best effort, as creation
            logger.exception("handover task not cancelled", extra={"approval_id": a["id"], "userid": userid})
            metrics.add_metric(name="HandoverTaskFailed", unit="Count", value=1)
    return count


def _department_groups() -> list[Any]:
    """Project groups that name departments; none (nothing to place a handover task in) when the
    digest config cannot be read, which is logged and counted, not raised."""
    try:
        groups = digests.digest_config().groups
    except OAError as exc:
        logger.warning("handover tasks skipped: digest config unreadable", extra={"error": exc.message})
        metrics.add_metric(name="HandoverTaskFailed", unit="Count", value=1)
        return []
    return [g for g in groups if getattr(g, "departments", None)]


def _group_of_user(userid: str, groups: list[Any]) -> str | None:
    """The first group whose departments hold the user's main department or an ancestor of it."""
    directory = wiring.directory()

    def parent_of(dept_id: int) -> int | None:
        try:
            return directory.department(dept_id).parentid
        except NotFound:
            return None

    return group_of(directory.user(userid).department, groups, parent_of)


# ------------------------------------------------------------------------------ what the HTTP API calls
def get(task_id: str) -> dict[str, Any]:
    return view(repo().get(task_id))


def done_by(task_id: str, body: DoneRequest | None) -> dict[str, Any]:
    """POST /tasks/{id}/done: `by`, when given, is an active member of the directory."""
    by = body.by if body else None
    if by:
        from wecom_oa import people

        people.require_actor(by)
    return done(task_id, by)


def list_page(group: str, status: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """GET /tasks: one page of a project group's tasks in `status` (open: earliest due first;
    done, cancelled: most recently closed first) with `next_cursor`."""
    from wecom_oa.paging import decode_cursor, encode_cursor
    from wecom_oa.tasks.store import OPEN_KIND, closed_partition

    require_group(group)
    partition = f"OPEN#{OPEN_KIND}#{group}" if status == "open" else closed_partition(group, status)
    scope = f"tasks|{group}|{status}"
    items, last = repo().list_page(group, status, limit, decode_cursor(cursor, partition, scope))
    views = [view(i) for i in items]
    return TaskList(group=group, status=status, count=len(views), items=views,
                    next_cursor=encode_cursor(last, scope)).model_dump(mode="json")
