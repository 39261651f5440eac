"""Broadcast notices with acknowledgement tracking (API routes, card clicks, the follow-up sweep).

- `POST /notices` expands recipients through the directory, stores the notice and one item per
  recipient, then sends an acknowledgement card per batch of at most 1000 userids (one
  message/send call each), each batch under its own short task_id registered before sending.
- `on_ack_click` records the first acknowledgement with a conditional write and turns the clicker's
  button into 已确认 in place (the response code is consumed exactly once).
- `GET /notices/{id}` reports recipients, acknowledged, ack_rate, pending and by_department.
- `run_followup` (schedule `notice-followup`) reads open notices from gsi1 only; each stage (nudge,
  leader note, final report) is planned by `domain.notices.plan_followup` and recorded with a
  versioned write *before* sending, so a double-fired or retried sweep never sends a stage twice
  (delivery is at most once per stage; a failed send is logged and counted, not repeated).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from wecom_oa.adapters.dynamo import app_table
from wecom_oa.adapters.dynamo_notices import NoticeRepository
from wecom_oa.clock import get_clock
from wecom_oa.domain.digests import APP_MARKDOWN_LIMIT, Templates, split_markdown
from wecom_oa.domain.directory import Department, User
from wecom_oa.domain.notices import (
    FollowupAction,
    FollowupState,
    Notice,
    NoticePolicy,
    ack_stats,
    batches,
    expand_recipients,
    plan_followup,
    render_final_report,
    render_leader_note,
    render_nudge,
)
from wecom_oa.errors import InvalidInput, NotFound, OAError
from wecom_oa.observability import logger, metrics
from wecom_oa.services import cards, digests, wiring
from wecom_oa.services.api import ApiRequest, route
from wecom_oa.settings import get_settings

CARD_KIND = "notice_ack"
_ALIASES = {"nudge_after": "nudge_after_minutes", "escalate_after": "escalate_after_minutes"}


def repository() -> NoticeRepository:
    return NoticeRepository(app_table())


def _templates() -> Templates:
    return digests.templates()


def _policy() -> NoticePolicy:
    return digests.digest_config().notices


# -- API ----------------------------------------------------------------------------------------


def parse_notice(body: Mapping[str, Any], *, notice_id: str, now: datetime) -> Notice:
    """The POST /notices body as a `Notice`; InvalidInput names each bad field."""
    data = {_ALIASES.get(k, k): v for k, v in body.items() if k not in ("id", "created_at")}
    if data.get("ack_deadline") in (None, ""):
        from wecom_oa.domain.notices import default_ack_deadline
        from wecom_oa.services.tickets import calendars

        data["ack_deadline"] = default_ack_deadline(now, calendars().get(), _policy(), get_settings().default_timezone)
    try:
        return Notice.model_validate({**data, "id": notice_id, "created_at": now})
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
                    for e in exc.errors(include_url=False, include_input=False)]
        raise InvalidInput("invalid notice: " + ", ".join(p["field"] for p in problems), details=problems) from None


@route("POST", "/notices")
def create_notice(request: ApiRequest) -> tuple[int, dict[str, Any]]:
    notice = parse_notice(request.json(), notice_id=secrets.token_hex(8), now=get_clock().now())
    directory = wiring.directory()
    _require_member(directory, notice.sender, "sender")
    expanded = expand_recipients(notice, directory)
    if not expanded.userids:
        raise InvalidInput("the notice has no active recipients", details={"inactive": expanded.inactive})
    departments = {u: directory.user(u).department for u in expanded.userids}
    repository().create(notice, departments)
    sent = send_ack_cards(notice, expanded.userids, _policy().batch_size)
    return 201, {"id": notice.id, "recipients": len(expanded.userids), "inactive": expanded.inactive,
                 "messages": sent}


def _require_member(directory: Any, userid: str, field: str) -> None:
    try:
        user = directory.user(userid)
    except NotFound:
        raise InvalidInput(f"{field}: {userid!r} is not a member of the directory",
                           details=[{"field": field, "problem": "unknown userid", "value": userid}]) from None
    if user.status != 1:
        raise InvalidInput(f"{field}: {userid!r} is not an active member",
                           details=[{"field": field, "problem": "inactive member", "value": userid}])


def send_ack_cards(notice: Notice, userids: Sequence[str], batch_size: int) -> int:
    """One card per batch of ≤ 1000 userids; returns the number of message/send calls."""
    from wecom_oa.adapters.wecom.cards import CardBuilder, new_task_id

    builder = CardBuilder(timezone=get_settings().default_timezone)
    client = wiring.sender()
    sender = _display_name(notice.sender)
    for batch in batches(userids, batch_size):
        task_id = new_task_id("ntc")
        cards.register_card(task_id, CARD_KIND, ref={"notice_id": notice.id}, recipients=batch)
        card = builder.ack_card(task_id=task_id, title=notice.title, sender_name=sender, content=notice.content,
                                deadline=notice.ack_deadline)
        client.send_template_card(card, touser=batch)
    return len(batches(userids, batch_size))


@route("GET", "/notices/{id}")
def get_notice(request: ApiRequest) -> tuple[int, dict[str, Any]]:
    notice_id = request.params["id"]
    notice, meta = repository().get(notice_id)
    rows = repository().recipients(notice_id)
    stats = ack_stats([r["userid"] for r in rows], {r["userid"]: r["acked_at"] for r in rows if r.get("acked_at")},
                      _StoredDepartments(rows))
    return 200, {"id": notice_id, "title": notice.title, "ack_deadline": notice.ack_deadline,
                 "closed": bool(meta.get("closed")), **stats.model_dump(mode="json")}


class _StoredDepartments:
    """Directory view answering `user()` from the recipient items (department stored at send time),
    so statistics cost one query, not one directory call per recipient."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._dept = {r["userid"]: r.get("department") for r in rows}
        self._names: dict[int, Department] = {}

    def user(self, userid: str) -> User:
        if userid not in self._dept:
            raise NotFound(f"user {userid!r} not found")
        dept = self._dept[userid]
        return User(userid=userid, name=userid, main_department=dept)

    def department(self, dept_id: int) -> Department:
        if dept_id not in self._names:
            self._names[dept_id] = wiring.directory().department(dept_id)
        return self._names[dept_id]

    def tag_members(self, tag: str | int) -> list[str]:
        raise NotFound("tags are not stored with notices")

    def department_members(self, dept_id: int, *, recursive: bool = True) -> list[str]:
        return [u for u, d in self._dept.items() if d == dept_id]


# -- card clicks --------------------------------------------------------------------------------


def on_ack_click(card: Mapping[str, Any], event: Any) -> None:
    """Record the first acknowledgement (a repeat is a no-op) and grey out the clicker's button in place."""
    if getattr(event, "event_key", "ack") not in ("ack", ""):
        logger.warning("unexpected button on a notice card", extra={"key": event.event_key})
        return
    notice_id = card["ref"]["notice_id"]
    userid = event.from_user_name
    if not repository().record_ack(notice_id, userid, get_clock().now()):
        return  # a repeated click: the first one already updated the card
    metrics.add_metric(name="NoticeAcknowledged", unit=MetricUnit.Count, value=1)
    from wecom_oa.adapters.wecom.cards import load_card_templates

    code = cards.take_response_code(card["pk"].removeprefix("CARD#"), userid)
    if code is None:
        return
    replace = load_card_templates().ack_final.replace_text
    try:
        wiring.wecom_client().update_template_card(code, userids=[userid], replace_name=replace)
    except OAError:
        # The code is consumed either way (single-use); the ack itself is stored.
        logger.exception("notice card update failed", extra={"notice_id": notice_id})


# -- follow-up sweep ----------------------------------------------------------------------------


def run_followup(now: datetime | None = None) -> dict[str, int]:
    """One sweep over open notices; returns counts of notices seen and stages sent."""
    now = now or get_clock().now()
    repo = repository()
    policy = _policy()
    directory = wiring.directory()
    counts = {"open": 0, "nudge": 0, "escalate": 0, "final_report": 0, "failed": 0, "held": 0}
    from wecom_oa.services import quiet

    held = quiet.held_until(now)  # nobody is nudged or told at night: the first sweep after it sends
    for meta in list(repo.open_notices()):
        if held is not None:
            counts["held"] += 1
            continue
        counts["open"] += 1
        notice = Notice.model_validate(meta["notice"])
        state = FollowupState.model_validate(meta.get("followup") or {})
        rows = repo.recipients(notice.id or "")
        recipients = [r["userid"] for r in rows]
        acks = {r["userid"]: r["acked_at"] for r in rows if r.get("acked_at")}
        actions, new_state = plan_followup(notice, recipients, acks, state, now, directory, policy)
        if new_state == state:
            continue
        try:
            repo.save_followup(notice.id or "", new_state, int(meta["version"]))
        except OAError:
            logger.info("notice follow-up already taken by another run", extra={"notice_id": notice.id})
            continue
        for action in actions:
            counts[action.stage if _perform(notice, action) else "failed"] += 1
        if new_state.done:
            repo.close(notice.id or "")
    return counts


def _perform(notice: Notice, action: FollowupAction) -> bool:
    templates = _templates()
    client = wiring.sender()
    tz = ZoneInfo(get_settings().default_timezone)
    try:
        if action.stage == "nudge" and action.userids:
            client.send_text(render_nudge(notice, templates, tz), touser=action.userids)
        elif action.stage == "escalate":
            for boss, members in action.leader_notes.items():
                names = {u: _display_name(u) for u in members}
                client.send_text(render_leader_note(notice, members, templates, names), touser=[boss])
        elif action.stage == "final_report" and action.stats is not None:
            names = {u: _display_name(u) for u in action.stats.pending[:20]}
            lines = render_final_report(notice, action.stats, templates, names=names)
            for part in split_markdown(lines, APP_MARKDOWN_LIMIT):
                client.send_markdown(part, touser=[notice.sender])
    except OAError:
        logger.exception("notice follow-up send failed", extra={"notice_id": notice.id, "stage": action.stage})
        metrics.add_metric(name="NoticeFollowupFailed", unit=MetricUnit.Count, value=1)
        return False
    return True


def _display_name(userid: str | None) -> str:
    if not userid:
        return ""
    try:
        return wiring.directory().user(userid).name
    except OAError:
        return userid
