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

import contextlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import ValidationError

from wecom_oa import wiring
from wecom_oa.aws.dynamo import app_table
from wecom_oa.clock import get_clock
from wecom_oa.digests import config as digests
from wecom_oa.errors import AlreadyExists, InvalidInput, NotFound, OAError
from wecom_oa.messaging import cards
from wecom_oa.messaging.sending import about
from wecom_oa.notices.domain import (
    LEADER_NOTE_NAMES,
    FollowupAction,
    FollowupState,
    Notice,
    NoticePolicy,
    batches,
    expand_recipients,
    plan_followup,
    render_final_summary,
    render_leader_note,
    render_nudge,
)
from wecom_oa.notices.models import NoticeRequest
from wecom_oa.notices.store import NoticeRepository
from wecom_oa.observability import logger, metrics
from wecom_oa.settings import get_settings
from wecom_oa.texts import APP_MARKDOWN_LIMIT, Templates, split_markdown

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
        from wecom_oa.notices.domain import default_ack_deadline
        from wecom_oa.worktime.calendar import company_calendars as calendars

        data["ack_deadline"] = default_ack_deadline(now, calendars().get(), _policy(), get_settings().default_timezone)
    try:
        return Notice.model_validate({**data, "id": notice_id, "created_at": now})
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
                    for e in exc.errors(include_url=False, include_input=False)]
        raise InvalidInput("invalid notice: " + ", ".join(p["field"] for p in problems), details=problems) from None


def publish(body: NoticeRequest) -> dict[str, Any]:
    """POST /notices: validate, count and store the notice, then hand the sending to the events
    queue: the answer does not wait for thousands of recipient items and cards (a 6000-store notice
    answers at once; `status` is `sending` until the worker has sent every batch)."""
    notice = parse_notice(body.model_dump(exclude_none=True), notice_id=secrets.token_hex(8), now=get_clock().now())
    directory = wiring.directory()
    from wecom_oa import people

    people.require_member(notice.sender, "sender", directory=directory)
    require_known_users(notice, directory)
    partner_members = _partner_members(notice)
    expanded = _expand(notice, directory) if (notice.touser or notice.toparty or notice.totag) else None
    own = expanded.userids if expanded is not None else []
    if not own and not partner_members:
        raise InvalidInput("the notice has no active recipients",
                           details={"inactive": expanded.inactive if expanded is not None else []})
    departments: dict[str, int | None] = {u: directory.user(u).department for u in own}
    departments.update(dict.fromkeys(partner_members))
    repository().create(notice, departments, sending=True)
    _enqueue_send(notice.id or "")
    messages = len(batches(own, _policy().batch_size)) + len(notice.partners)
    return {"id": notice.id, "recipients": len(departments), "inactive": expanded.inactive if expanded else [],
            "messages": messages, "status": "sending"}


def _partner_members(notice: Notice) -> list[str]:
    """`corpid:userid` of each partner member; 400 naming a corp the app is not shared with."""
    out: list[str] = []
    for i, partner in enumerate(notice.partners):
        try:
            wiring.partner_client(partner["corp"])
        except NotFound as exc:
            raise InvalidInput(f"partners[{i}].corp: {exc.message}", details={"field": f"partners[{i}].corp"}) from None
        out += [f"{partner['corp']}:{u}" for u in dict.fromkeys(partner["users"])]
    return list(dict.fromkeys(out))


def require_known_users(notice: Notice, directory: Any) -> None:
    """400 naming every unknown userid of `touser` (as `expand_recipients` would), found from the
    cached company roster: no WeCom call per unknown userid (`people.problems`)."""
    from wecom_oa import people

    named = [(i, u) for i, u in enumerate(notice.touser) if u != "@all"]
    unknown = {u for u, problem in people.problems([u for _, u in named], directory=directory, active=False)
               if problem == "unknown userid"}
    if unknown:
        bad = [{"field": f"touser[{i}]", "value": u} for i, u in named if u in unknown]
        listed = ", ".join(f"{b['field']}={b['value']}" for b in bad[:people.NAMED_IN_MESSAGE])
        more = f" and {len(bad) - people.NAMED_IN_MESSAGE} more" if len(bad) > people.NAMED_IN_MESSAGE else ""
        raise InvalidInput(f"unknown recipients: {listed}{more}", details=bad)


SEND_KIND = "notice_send"


def _expand(notice: Notice, directory: Any) -> Any:
    """Recipients through the directory's bulk reads (one department/list, one user/list)."""
    preload_departments = getattr(directory, "preload_departments", None)
    if preload_departments is not None and (notice.toparty or notice.totag or "@all" in notice.touser):
        preload_departments()
    return expand_recipients(notice, directory)


def _enqueue_send(notice_id: str) -> None:
    import json

    url = get_settings().events_queue_url
    if not url:
        from wecom_oa.errors import ConfigurationError

        raise ConfigurationError("EVENTS_QUEUE_URL is not set: notices are sent by the events worker")
    wiring.aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(
        {"kind": SEND_KIND, "key": f"{SEND_KIND}:{notice_id}", "notice_id": notice_id}))


def send_queued(message: Mapping[str, Any]) -> None:
    """The events worker's `notice_send` route: store the recipients and per-department counters,
    then send each batch's card once (a redelivered message skips the batches already sent)."""
    notice_id = str(message["notice_id"])
    repo = repository()
    notice, meta = repo.get(notice_id)
    if meta.get("status") == "sent":
        return
    directory = wiring.directory()
    own = _expand(notice, directory).userids if (notice.touser or notice.toparty or notice.totag) else []
    departments = {u: directory.user(u).department for u in own}
    repo.store_recipients(notice_id, departments, _department_info(directory, set(departments.values())))
    names = {c["corpid"]: c.get("corp_name") or c["corpid"] for c in wiring.wecom_client().shared_corps()} \
        if notice.partners else {}
    repo.store_partner_recipients(notice_id, {p["corp"]: (names.get(p["corp"], p["corp"]), list(dict.fromkeys(p["users"])))
                                              for p in notice.partners})
    done = repo.sent_batches(notice_id)
    send_ack_cards(notice, own, _policy().batch_size, done=done, on_sent=lambda i: repo.mark_batch_sent(notice_id, i))
    _send_partner_cards(notice, done, on_sent=lambda i: repo.mark_batch_sent(notice_id, i))
    repo.mark_sent(notice_id)


PARTNER_BATCH_BASE = 100_000  # batch numbers of partner cards (own batches count from 0)


def _send_partner_cards(notice: Notice, done: set[int] | None, *, on_sent: Any) -> None:
    """One card per partner corp, sent as the shared app in that corp (its own message/send)."""
    from wecom_oa.wecom.cards import CardBuilder
    from wecom_oa.wecom.errors import TaskIdDuplicate

    builder = CardBuilder(timezone=get_settings().default_timezone)
    sender = _display_name(notice.sender)
    for i, partner in enumerate(notice.partners):
        index = PARTNER_BATCH_BASE + i
        if done and index in done:
            continue
        users = list(dict.fromkeys(partner["users"]))
        task_id = f"ntc-{notice.id}-p{i}"
        with contextlib.suppress(AlreadyExists):
            cards.register_card(task_id, CARD_KIND, ref={"notice_id": notice.id},
                                recipients=[f"{partner['corp']}:{u}" for u in users])
        card = builder.ack_card(task_id=task_id, title=notice.title, sender_name=sender, content=notice.content,
                                deadline=notice.ack_deadline)
        try:
            with about(notice_id=notice.id):
                wiring.partner_client(partner["corp"]).send_template_card(card, touser=users)
        except TaskIdDuplicate:
            logger.info("notice partner card already sent", extra={"notice_id": notice.id, "corp": partner["corp"]})
        on_sent(index)


def _department_info(directory: Any, ids: set[int | None]) -> dict[int, dict[str, Any]]:
    """Name and region of each department, stored with its counter so reports never ask the
    directory again. The region is the department's top-level ancestor (the one right under the
    company): a store's region, a region's own; the company department is its own region."""
    out: dict[int, dict[str, Any]] = {}
    for dept in ids:
        if dept is None:
            continue
        try:
            d = directory.department(dept)
            region = d
            for _ in range(32):  # WeCom departments nest at most 15 levels
                parent = directory.department(region.parentid) if region.parentid else None
                if parent is None or not parent.parentid:
                    break
                region = parent
        except NotFound:
            continue
        out[dept] = {"name": d.name, "region": region.id, "region_name": region.name}
    return out


def send_ack_cards(notice: Notice, userids: Sequence[str], batch_size: int, *, done: set[int] | None = None,
                   on_sent: Any = None) -> int:
    """One card per batch of ≤ 1000 userids (batch i under task id `ntc-<notice>-<i>`, so WeCom
    refuses a repeat, 42014); returns the number of message/send calls made. A broadcast is one
    message per member, sent directly (not through the per-member send ledger, which would cost one
    write per recipient)."""
    from wecom_oa.wecom.cards import CardBuilder
    from wecom_oa.wecom.errors import TaskIdDuplicate

    builder = CardBuilder(timezone=get_settings().default_timezone)
    client = wiring.sender()  # durable: a failed batch is re-attempted from the queue, then parked
    sender = _display_name(notice.sender)
    calls = 0
    for index, batch in enumerate(batches(userids, batch_size)):
        if done and index in done:
            continue
        task_id = f"ntc-{notice.id}-{index}"
        with contextlib.suppress(AlreadyExists):  # registered by an earlier attempt: the same card
            cards.register_card(task_id, CARD_KIND, ref={"notice_id": notice.id}, recipients=batch)
        card = builder.ack_card(task_id=task_id, title=notice.title, sender_name=sender, content=notice.content,
                                deadline=notice.ack_deadline)
        try:
            with about(notice_id=notice.id):
                client.send_template_card(card, touser=batch, paced=False)
            calls += 1
        except TaskIdDuplicate:
            logger.info("notice batch already sent", extra={"notice_id": notice.id, "batch": index})
        if on_sent is not None:
            on_sent(index)
    return calls


def report(notice_id: str) -> dict[str, Any]:
    """Counts from the stored counters: no directory call, no scan of the recipients. `by_region`
    always; `by_department` and `pending` (userids) for notices of at most LISTED departments /
    recipients (a 6000-store notice answers with its 60 regions; the final report names the stores)."""
    repo = repository()
    notice, meta = repo.get(notice_id)
    out = {"id": notice_id, "title": notice.title, "ack_deadline": notice.ack_deadline, **_counts(meta),
           "by_region": _by_region(repo.regions(notice_id))}
    if notice.partners:
        out["by_partner"] = sorted(({"corp": r["corp"], "partner": r.get("name"), "total": int(r["total"]),
                                     "acknowledged": int(r.get("acked", 0)),
                                     "ack_rate": _rate(int(r.get("acked", 0)), int(r["total"]))}
                                    for r in repo.partners(notice_id)), key=lambda p: (p["ack_rate"], p["corp"]))
    if out["recipients"] <= LISTED:
        out["by_department"] = _by_department(repo.departments(notice_id))
        out["pending"] = [r["userid"] for r in repo.recipients(notice_id) if not r.get("acked_at")]
    return out


LISTED = 1000


def list_month(month: str | None, limit: int, cursor: str | None) -> dict[str, Any]:
    """GET /notices: the notices published in `month` (default: this one, company time), newest
    first, `limit` per page with an opaque `next_cursor`; each with its acknowledgement counts
    (from the notice's own counters)."""
    from wecom_oa.notices.store import LIST_PREFIX
    from wecom_oa.notices.store import list_month as current_month
    from wecom_oa.paging import decode_cursor, encode_cursor

    month = month or current_month(get_clock().now(), ZoneInfo(get_settings().default_timezone))
    scope = f"notices|{month}"
    items, last = repository().list_page(month, limit, decode_cursor(cursor, f"{LIST_PREFIX}{month}", scope))
    notices = [{**{k: (meta.get("notice") or {}).get(k) for k in ("id", "title", "sender", "created_at", "ack_deadline")},
                **_counts(meta)} for meta in items]
    return {"month": month, "notices": notices, "count": len(notices), "next_cursor": encode_cursor(last, scope)}


def _counts(meta: Mapping[str, Any]) -> dict[str, Any]:
    """Status and acknowledgement counts of a notice, from its META item's own counters."""
    recipients, acknowledged = int(meta.get("recipient_count", 0)), int(meta.get("acknowledged", 0))
    return {"status": meta.get("status", "sent"), "closed": bool(meta.get("closed")), "recipients": recipients,
            "acknowledged": acknowledged, "ack_rate": _rate(acknowledged, recipients)}


def _by_region(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({"region": r.get("region_name"), "total": int(r["total"]), "acknowledged": int(r.get("acked", 0)),
                    "departments": int(r.get("departments", 0)),
                    "ack_rate": _rate(int(r.get("acked", 0)), int(r["total"]))} for r in rows),
                  key=lambda c: (c["ack_rate"], str(c["region"])))


def _by_department(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return sorted((
        {"department_id": r.get("department"), "department": r.get("name"), "region": r.get("region_name"),
         "total": int(r["total"]), "acknowledged": int(r.get("acked", 0)),
         "ack_rate": _rate(int(r.get("acked", 0)), int(r["total"]))} for r in rows),
        key=lambda d: (d["ack_rate"], d["department_id"] or 0))


def _summary(repo: Any, notice_id: str, recipients: int, acknowledged: int) -> dict[str, Any]:
    return {"recipients": recipients, "acknowledged": acknowledged, "ack_rate": _rate(acknowledged, recipients),
            "by_region": _by_region(repo.regions(notice_id)), "by_department": _by_department(repo.departments(notice_id))}


def _rate(done: int, total: int) -> float:
    return done / total if total else 0.0


# -- card clicks --------------------------------------------------------------------------------


def on_ack_click(card: Mapping[str, Any], event: Any) -> None:
    """Record the first acknowledgement (a repeat is a no-op) and grey out the clicker's button in place."""
    if getattr(event, "event_key", "ack") not in ("ack", ""):
        logger.warning("unexpected button on a notice card", extra={"key": event.event_key})
        return
    notice_id = card["ref"]["notice_id"]
    userid = cards.clicker_id(event)  # `corpid:userid` for a partner corp's member
    if not repository().record_ack(notice_id, userid, get_clock().now()):
        return  # a repeated click: the first one already updated the card
    metrics.add_metric(name="NoticeAcknowledged", unit=MetricUnit.Count, value=1)
    from wecom_oa.wecom.cards import load_card_templates

    code = cards.take_response_code(card["pk"].removeprefix("CARD#"), userid)
    if code is None:
        return
    replace = load_card_templates().ack_final.replace_text
    try:
        if ":" in userid:
            corp, member = userid.split(":", 1)
            wiring.partner_client(corp).update_template_card(code, userids=[member], replace_name=replace)
        else:
            wiring.sender().update_template_card(code, userids=[userid], replace_name=replace)
    except OAError:
        # A configuration error (a transient one is re-attempted); the ack itself is stored.
        logger.exception("notice card update failed", extra={"notice_id": notice_id})


# -- follow-up sweep ----------------------------------------------------------------------------


def run_followup(now: datetime | None = None) -> dict[str, int]:
    """One sweep over open notices; returns counts of notices seen and stages sent."""
    now = now or get_clock().now()
    repo = repository()
    policy = _policy()
    directory = wiring.directory()
    counts = {"open": 0, "nudge": 0, "escalate": 0, "final_report": 0, "failed": 0, "held": 0}
    from wecom_oa.worktime import quiet_hours as quiet

    held = quiet.held_until(now)  # nobody is nudged or told at night: the first sweep after it sends
    if held is None and hasattr(directory, "preload_departments"):
        directory.preload_departments()  # leaders and statistics without one department/get each
    for meta in list(repo.open_notices()):
        if held is not None:
            counts["held"] += 1
            continue
        counts["open"] += 1
        if meta.get("status") == "sending":
            continue  # the send worker has not finished: nobody can be nudged about it yet
        notice = Notice.model_validate(meta["notice"])
        state = FollowupState.model_validate(meta.get("followup") or {})
        # Partner corps' members are counted and get the card; nudges and leader notes follow the
        # company's own directory, which does not hold them.
        rows = [r for r in repo.recipients(notice.id or "") if not r.get("partner")]
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
    with about(notice_id=notice.id):
        return _perform_one(notice, action)


def _perform_one(notice: Notice, action: FollowupAction) -> bool:
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
            repo = repository()
            _, meta = repo.get(notice.id or "")
            summary = _summary(repo, notice.id or "", int(meta.get("recipient_count", 0)),
                               int(meta.get("acknowledged", 0)))
            few = action.stats.pending if len(action.stats.pending) <= LEADER_NOTE_NAMES else []
            base = digests.digest_config().base_url.rstrip("/")
            lines = render_final_summary(notice, summary, templates, pending_names=[_display_name(u) for u in few],
                                         url=f"{base}/notices/{notice.id}" if base else "")
            for part in split_markdown(lines, APP_MARKDOWN_LIMIT):
                client.send_markdown(part, touser=[notice.sender])
    except OAError:
        logger.exception("notice follow-up send failed", extra={"notice_id": notice.id, "stage": action.stage})
        metrics.add_metric(name="NoticeFollowupFailed", unit=MetricUnit.Count, value=1)
        return False
    return True


def _display_name(userid: str | None) -> str:
    from wecom_oa.people import display_name

    return display_name(userid)
