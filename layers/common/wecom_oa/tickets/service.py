"""Tickets: create/act through the API or chat, keep the SLA state, run one escalation timer per
ticket generation.

Timer contract (statemachines/ticket_escalation.asl.json):
- every change that can move a deadline (create, accept, wait_customer, resume, transfer, resolve,
  close, reopen) bumps `timer_generation` and starts execution `{ticket_id}-g{generation}`
  (deterministic name); the previous generation is stopped, and if it still wakes up it sees a
  stale generation and ends itself;
- `check()` claims due SLA actions with a conditional write on `sla_rev` *before* notifying, so a
  restarted or duplicated timer never notifies twice; a failed send releases the claim and raises,
  so the ASL retry sends it again;
- `reconcile()` (schedule `ticket-reconcile`) re-arms open tickets whose timer is not running
  (stopped, finished or ExecutionDoesNotExist). Any other Step Functions error (AccessDenied,
  throttling) leaves that ticket alone: counted in the result and logged, never taken as "missing".
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from wecom_oa import wiring
from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import get_clock, utc_iso
from wecom_oa.errors import AlreadyExists, Conflict, InvalidInput, NotFound, OAError
from wecom_oa.observability import logger, metrics

if TYPE_CHECKING:
    from wecom_oa.tickets.models import ActionRequest, CreateTicketRequest

TIMER_ACTIONS = {"accept", "wait_customer", "resume", "transfer", "resolve", "close", "reopen"}


# ------------------------------------------------------------------------------ configuration
@lru_cache(maxsize=1)
def catalog() -> Any:
    from wecom_oa.tickets.domain import load_catalog

    return load_catalog()


def calendars() -> Any:
    from wecom_oa.worktime.calendar import company_calendars

    return company_calendars()


@lru_cache(maxsize=1)
def policies() -> Any:
    from wecom_oa.worktime.sla import load_sla_policies

    return load_sla_policies(calendars=calendars())


@lru_cache(maxsize=1)
def texts() -> dict[str, Any]:
    import yaml

    from wecom_oa.settings import get_settings

    path = get_settings().templates_dir / "tickets.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _render(key: str, context: dict[str, Any]) -> str:
    template = texts()[key]
    return template.format_map(_Blank(context))


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _repo() -> Any:
    from wecom_oa.tickets.store import TicketRepository

    return TicketRepository(app_table())


# ------------------------------------------------------------------------------ commands
def create(body: Mapping[str, Any] | CreateTicketRequest, *, ticket_id: str | None = None) -> dict[str, Any]:
    """Open a ticket (a fresh id unless given). Raises `InvalidInput`, and `AlreadyExists` for a
    given id that is taken."""
    from wecom_oa import people
    from wecom_oa.tickets.domain import new_ticket_id, open_ticket
    from wecom_oa.tickets.models import CreateTicketRequest
    from wecom_oa.worktime.sla import SlaState

    request = CreateTicketRequest.model_validate(body).to_domain()
    now = get_clock().now()
    outcome = open_ticket(catalog(), request, ticket_id=ticket_id or new_ticket_id(now), now=now)
    people.require_member(request.reporter, "reporter")  # after the body's own checks, before storing
    _require_user_fields(request.type, request.fields)
    ticket = outcome.ticket
    _repo().create(ticket, outcome.entry)
    policy = policies().select(ticket.type, ticket.priority.value)
    app_table().update(Keys.ticket(ticket.id), set_fields={
        "sla": SlaState(started_at=now).model_dump(mode="json"), "sla_policy": policy.name, "sla_rev": 0,
        "timer_generation": 0})
    _carry_out(outcome.effects)
    _arm(ticket.id)
    metrics.add_metric(name="TicketCreated", unit="Count", value=1)
    return view(ticket.id)


def act(ticket_id: str, body: Mapping[str, Any] | ActionRequest) -> dict[str, Any]:
    from wecom_oa import people
    from wecom_oa.tickets.models import ActionRequest

    request = ActionRequest.model_validate(body)
    people.require_actor(request.by)
    payload = request.payload()
    if payload.to is not None and payload.to.assignee:
        people.require_member(payload.to.assignee, "to.assignee")
    if payload.fields:
        _require_user_fields(str(_repo().get(ticket_id).type), payload.fields)
    now = get_clock().now()
    outcome = _repo().apply(ticket_id, request.action, request.by, catalog=catalog(), now=now,
                            payload=payload, expected_version=request.version)
    action = outcome.entry.action if isinstance(outcome.entry.action, str) else outcome.entry.action.value
    _update_sla(ticket_id, action, now)
    _carry_out(outcome.effects)
    _tell_customer(outcome)
    if action in TIMER_ACTIONS:
        _arm(ticket_id)
    if action == "accept":
        _send_actions_card(ticket_id)
    if action in ("resolve", "close"):
        _record_dwell(ticket_id, now)
    return view(ticket_id)


def iso_week(when: datetime) -> str:
    """The company-time ISO week of `when`, e.g. 2026-W10."""
    from zoneinfo import ZoneInfo

    from wecom_oa.settings import get_settings

    year, week, _ = when.astimezone(ZoneInfo(get_settings().default_timezone)).isocalendar()
    return f"{year}-W{week:02d}"


def _record_dwell(ticket_id: str, now: datetime) -> None:
    """Keep the ticket's time per stage and team (wall and business seconds) in the week it was
    resolved, for the console's 停留时长 charts: one item per ticket (re-resolving in another week
    moves it), so a week's figures read only that week's tickets. Derived data: a failure is logged
    and counted; the resolution stands."""
    from wecom_oa.tickets.domain import Ticket, dwell_times

    try:
        table = app_table()
        item = table.get(Keys.ticket(ticket_id))
        if item is None:
            return
        ticket = Ticket.model_validate(item)
        report = dwell_times(_repo().history(ticket_id), until=now, calendar=calendars().for_team(ticket.team))
        week = iso_week(now)

        def seconds(part: Any) -> dict[str, list[int]]:
            return {k: [int(v.wall.total_seconds()), int((v.business or timedelta(0)).total_seconds())]
                    for k, v in part.items()}

        previous = item.get("dwell_week")
        table.put({**Keys.ticket_dwell(week, ticket_id), "entity": "ticket_dwell", "ticket_id": ticket_id,
                   "type": ticket.type, "team": ticket.team, "reporter": ticket.reporter,
                   "assignee": ticket.assignee, "resolved_at": now.isoformat(),
                   "by_stage": seconds(report.by_stage), "by_team": seconds(report.by_team)})
        if previous and previous != week:
            table.delete(Keys.ticket_dwell(previous, ticket_id))
        table.update(Keys.ticket(ticket_id), set_fields={"dwell_week": week})
    except OAError:
        logger.exception("ticket dwell not recorded", extra={"ticket_id": ticket_id})
        metrics.add_metric(name="TicketDwellNotRecorded", unit="Count", value=1)


def dwell_records(weeks: list[str]) -> list[dict[str, Any]]:
    """The dwell records of the tickets resolved in `weeks` (one Query per week)."""
    table = app_table()
    return [{**r, "week": w} for w in weeks for r in table.query(f"DWELL#{w}", sk_prefix="TICKET#")]


def _require_user_fields(type_key: str, fields: dict[str, Any]) -> None:
    """Fields of type `user` name members of the directory (400 naming the field and userid)."""
    from wecom_oa import people

    try:
        template = catalog().template_for(type_key)
    except Exception:  # noqa: BLE001 - an unknown type is reported by the domain's own validation
        return
    for key, value in fields.items():
        spec = template.field_map.get(key)
        if spec is not None and spec.type == "user" and isinstance(value, str) and value:
            people.require_member(value, f"fields.{key}")


def _tell_customer(outcome: Any) -> None:
    """A customer-visible ticket tells its reporter of every status change (template
    `customer.status_changed`), unless the action's own message already went to them."""
    ticket, entry = outcome.ticket, outcome.entry
    if not ticket.customer_visible or entry.from_status == entry.status or entry.by == ticket.reporter:
        return
    if any(ticket.reporter in getattr(e, "to", ()) for e in outcome.effects):
        return
    context = {"ticket_id": ticket.id, "title": ticket.title,
               "status_label": catalog().status_labels.get(ticket.status, ticket.status.value),
               "by": _display_name(entry.by)}
    try:
        wiring.sender().send_text(_render("customer.status_changed", context), touser=[ticket.reporter])
    except Exception:  # noqa: BLE001 - the change is committed; the message is best effort (logged)
        logger.exception("customer status message failed", extra={"ticket_id": ticket.id})


_PEOPLE_FIELDS = ("by", "assignee")


def _named(context: dict[str, Any]) -> dict[str, Any]:
    """The context with userids (by, assignee) replaced by the names people read."""
    return {**context, **{k: _display_name(context[k]) for k in _PEOPLE_FIELDS if context.get(k)}}


def _modify_sla(ticket_id: str, change: Any) -> None:
    """Read-modify-write of the stored SLA state, conditional on `sla_rev` and retried, so a user
    action and the timer never overwrite each other's changes. `change(state, item)` → new state."""
    from wecom_oa.worktime.sla import SlaState

    for _ in range(5):
        item = app_table().get(Keys.ticket(ticket_id)) or {}
        if "sla" not in item:
            return
        state = change(SlaState.model_validate(item["sla"]), item)
        try:
            app_table().update(Keys.ticket(ticket_id), set_fields={"sla": state.model_dump(mode="json"),
                                                                   "sla_rev": item["sla_rev"] + 1},
                               condition="sla_rev = :r", condition_values={":r": item["sla_rev"]})
            return
        except Conflict:
            continue  # changed meanwhile: re-read and re-apply
    raise Conflict(f"ticket {ticket_id}: SLA state kept changing; retry the action")


def _update_sla(ticket_id: str, action: str, now: datetime) -> None:
    def change(state: Any, item: dict[str, Any]) -> Any:
        state = state.apply_action(policies().select(item["type"], item["priority"]), action, now)
        if action == "transfer":  # the new handler gets a fresh first-response clock (new cycle)
            state = state.apply_change("start", "first_response", now)
        return state

    _modify_sla(ticket_id, change)


def _carry_out(effects: Any) -> None:
    """Send the domain's notifications. A 'card' effect for a ticket still waiting to be accepted
    (status new: assignment, transfer) is the interactive ticket card with an `accept` button;
    other effects are text. Failures are logged, never undo the committed change."""
    from wecom_oa.messaging.sending import about  # with the sender: a check with nothing due sends nothing

    client = wiring.sender()
    for effect in effects:
        if getattr(effect, "kind", None) != "notify":
            continue
        ticket_id = effect.context.get("ticket_id")
        try:
            with about(ticket_id=ticket_id):
                if effect.channel == "card" and effect.context.get("status") == "new":
                    _send_ticket_card(effect)
                else:
                    client.send_text(_render(effect.template, _named(effect.context)), touser=list(effect.to))
        except Exception:  # noqa: BLE001 - the ticket change is committed; transient failures are queued
            logger.exception("ticket notification failed", extra={"template": effect.template, "ticket_id": ticket_id})


@lru_cache(maxsize=1)
def _card_builder() -> Any:
    from wecom_oa.settings import get_settings
    from wecom_oa.wecom.cards import CardBuilder

    return CardBuilder(timezone=get_settings().default_timezone)


def _send_ticket_card(effect: Any) -> str:
    """Register (before sending, so an early click finds it) and send the accept card; its due
    time is the current first-response deadline. Returns the card's task_id."""
    from wecom_oa.messaging import cards
    from wecom_oa.wecom.cards import new_task_id

    ticket_id = effect.context["ticket_id"]
    recipients = list(effect.to)
    detail = view(ticket_id, with_history=False)
    task_id = new_task_id("tkt")
    cards.register_card(task_id, "ticket", ref={"ticket_id": ticket_id}, recipients=recipients)
    due = (detail.get("sla") or {}).get("first_response", {}).get("deadline")
    card = _card_builder().ticket_card(
        task_id=task_id, ticket_id=ticket_id, title=detail["title"],
        priority=effect.context.get("priority_label") or detail["priority"],
        due=due, type_name=effect.context.get("type_label", ""),
        reporter_name=_display_name(detail["reporter"]), detail_url=_page(ticket_id))
    wiring.sender().send_template_card(card, touser=recipients)
    return task_id


def _page(ticket_id: str) -> str | None:
    from wecom_oa.digests.config import page_url

    return page_url("ticket", ticket_id)


def _display_name(userid: str) -> str:
    try:
        return wiring.directory().user(userid).name
    except Exception:  # noqa: BLE001 - a name is cosmetic: show the userid rather than fail the card
        return userid


# ------------------------------------------------------------------------------ timers
def _arm(ticket_id: str) -> str:
    """Start the next timer generation; the previous execution is stopped (or ends itself)."""
    from wecom_oa.settings import get_settings

    item = app_table().update(Keys.ticket(ticket_id), add_fields={"timer_generation": 1})
    generation = int(item["timer_generation"])
    arn = get_settings().ticket_state_machine_arn
    sfn = wiring.aws("stepfunctions")
    if generation > 1:
        _stop_previous(sfn, _execution_arn(arn, f"{ticket_id}-g{generation - 1}"), ticket_id)
    sfn.start_execution(stateMachineArn=arn, name=f"{ticket_id}-g{generation}",
                        input=json.dumps({"ticket_id": ticket_id, "generation": generation}))
    return f"{ticket_id}-g{generation}"


def _execution_arn(state_machine_arn: str, name: str) -> str:
    return state_machine_arn.replace(":stateMachine:", ":execution:") + f":{name}"


def _sfn_error_code(exc: Exception) -> str | None:
    from botocore.exceptions import ClientError

    return exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None


def _stop_previous(sfn: Any, execution_arn: str, ticket_id: str) -> None:
    """Stop the previous generation. Benign: it never started (ExecutionDoesNotExist) or already
    ended (StopExecution on an ended execution changes nothing). Any other error is logged and
    counted, not raised: the new generation must still start, and the old one ends itself at its
    next wake-up on seeing a stale generation (it may wake up once more, never notify)."""
    from botocore.exceptions import ClientError

    try:
        sfn.stop_execution(executionArn=execution_arn, cause="deadline changed; next generation started")
    except ClientError as exc:
        code = _sfn_error_code(exc)
        if code == "ExecutionDoesNotExist":
            logger.debug("previous timer never started", extra={"ticket_id": ticket_id})
            return
        logger.warning("previous ticket timer could not be stopped", extra={"ticket_id": ticket_id, "code": code})
        metrics.add_metric(name="TicketTimerStopFailed", unit="Count", value=1)


def check(ticket_id: str, generation: int) -> dict[str, Any]:
    """The timer task: escalate/warn what is due now; return the next wake-up (UTC `Z`) or done."""
    from wecom_oa.tickets.domain import Ticket
    from wecom_oa.worktime.sla import SlaState, evaluate

    item = app_table().get(Keys.ticket(ticket_id))
    if item is None or int(item.get("timer_generation", 0)) != int(generation):
        return {"done": True, "next_wakeup": None}
    ticket = Ticket.model_validate(item)
    if not ticket.is_open:
        return {"done": True, "next_wakeup": None}
    policy = policies().select(ticket.type, ticket.priority.value)
    state = SlaState.model_validate(item["sla"])
    now = get_clock().now()
    evaluation = evaluate(policy, state, calendars().for_team(ticket.team), now, calendars=calendars())
    from wecom_oa.worktime import quiet_hours as quiet

    # In quiet hours, what can wait waits (it stays due: the timer wakes when they end and sends it;
    # a warning whose deadline passed meanwhile is dropped): warnings of non-critical tickets, and
    # breach/escalation notes of business-time clocks. Wall-time countdowns (a complaint's 24 h)
    # exist to run through the night, so their breach and escalations still go out.
    held = quiet.held_until(now, ticket.priority.value) if evaluation.due else None
    waiting = [a for a in evaluation.due if held is not None and _can_wait(a, evaluation)]
    due = [a for a in evaluation.due if a not in waiting]
    next_wakeup = evaluation.next_wakeup if not waiting else min(
        t for t in (evaluation.next_wakeup, held) if t is not None)
    if due:
        try:
            app_table().update(Keys.ticket(ticket_id), set_fields={
                "sla": state.record(due).model_dump(mode="json"), "sla_rev": item["sla_rev"] + 1},
                condition="sla_rev = :r AND timer_generation = :g",
                condition_values={":r": item["sla_rev"], ":g": int(generation)})
        except Conflict:
            # Someone else changed the SLA (an action or a duplicate timer): look again next time.
            return {"done": False, "next_wakeup": utc_iso(now)}
        sent: list[str] = []
        try:
            superseded = _superseded_warnings(due)
            for action in due:
                if action.key not in superseded:  # recorded as fired either way
                    _notify_due(ticket, action, evaluation)
                sent.append(action.key)
        except Exception:
            # Give back only what was not sent, so the ASL retry sends those and nothing twice.
            _release(ticket_id, [a.key for a in due if a.key not in sent])
            raise
    if next_wakeup is None:
        return {"done": True, "next_wakeup": None}
    _repo().set_next_deadline(ticket_id, next_wakeup)
    return {"done": False, "next_wakeup": utc_iso(_whole_second_after(next_wakeup))}


def _superseded_warnings(due: list[Any]) -> set[str]:
    """Keys of warnings a later one of the same clock makes moot (50 % and 80 % both due after quiet
    hours, or after a long pause): only the highest is sent."""
    best: dict[str, Any] = {}
    for a in due:
        if a.kind == "warning" and (a.clock not in best or (a.threshold or 0) > (best[a.clock].threshold or 0)):
            best[a.clock] = a
    return {a.key for a in due if a.kind == "warning" and best[a.clock].key != a.key}


def _can_wait(action: Any, evaluation: Any) -> bool:
    clock = evaluation.clocks.get(action.clock)
    return action.kind == "warning" or (clock is not None and clock.time == "business")


def _whole_second_after(when: datetime) -> datetime:
    """`when` rounded up to a whole second: the Wait state takes whole seconds, and a wake-up
    rounded down would find nothing due yet and cost a second wake-up (3 more transitions)."""
    return when if when.microsecond == 0 else when.replace(microsecond=0) + timedelta(seconds=1)


def _release(ticket_id: str, keys: list[str]) -> None:
    _modify_sla(ticket_id, lambda state, _item: state.model_copy(
        update={"fired": [k for k in state.fired if k not in keys]}))


def _notify_due(ticket: Any, action: Any, evaluation: Any) -> None:
    clock = evaluation.clocks.get(action.clock)
    people = _targets(ticket, action) if action.kind == "escalation" else _handlers(ticket)
    if not people:
        logger.warning("SLA action has nobody to notify", extra={"ticket_id": ticket.id, "action": action.key})
        return
    context = {"ticket_id": ticket.id, "title": ticket.title, "level": action.level,
               "assignee": _display_name(ticket.assignee) if ticket.assignee else texts()["unassigned"],
               "clock_label": clock.label if clock else action.clock,
               "percent": int(round((action.threshold or 0) * 100)),
               "explanation": clock.explanation if clock else ""}
    wiring.sender().send_text(_render(f"sla.{action.kind}", context), touser=people)
    _repo().append_timer_entry(ticket.id, kind=action.kind, clock=action.clock, level=action.level,
                               notified=people, at=get_clock().now())
    if action.kind == "escalation":
        app_table().update(Keys.ticket(ticket.id), set_fields={"escalation_level": max(ticket.escalation_level,
                                                                                        action.level or 0)})
    metrics.add_metric(name=f"Sla_{action.kind}", unit="Count", value=1)


def _handlers(ticket: Any) -> list[str]:
    if ticket.assignee:
        return [ticket.assignee]
    team = catalog().team_map.get(ticket.team)
    return list(team.dispatchers) if team else []


def _targets(ticket: Any, action: Any) -> list[str]:
    from wecom_oa.directory import leader

    directory = wiring.directory()
    people: list[str] = []
    for target in action.notify:
        if target.kind == "user":
            people.append(target.userid)
        elif target.kind == "role":
            people.extend(directory.tag_members(target.tag))
        elif target.kind == "handler":
            people.extend(_handlers(ticket))
        elif target.kind == "handler_leader":
            for handler in _handlers(ticket)[:1]:
                boss = leader(directory, handler, target.level)
                if boss:
                    people.append(boss)
        elif target.kind == "team_lead":
            team = catalog().team_map.get(target.team or ticket.team)
            people.extend(team.dispatchers[:1] if team else [])
    return list(dict.fromkeys(people))


def reconcile() -> dict[str, int]:
    """Re-arm open tickets whose current timer generation is not running (ended, or
    ExecutionDoesNotExist). A ticket whose timer cannot be looked up (AccessDenied, throttling, any
    other error) is left alone: re-arming it would start a duplicate of a timer that may well be
    running, on every run. Such tickets are counted in `errors`, logged with the error code and
    metered (`TicketReconcileErrors`), and looked at again by the next run."""
    from wecom_oa.settings import get_settings

    sfn = wiring.aws("stepfunctions")
    arn = get_settings().ticket_state_machine_arn
    rearmed = errors = 0
    for team in catalog().team_map:
        for ticket in _repo().list_open(team):
            item = app_table().get(Keys.ticket(ticket.id)) or {}
            status = _timer_status(sfn, _execution_arn(arn, f"{ticket.id}-g{int(item.get('timer_generation', 0))}"),
                                   ticket.id)
            if status is None:
                errors += 1
            elif status != "RUNNING":
                _arm(ticket.id)
                rearmed += 1
    if errors:
        metrics.add_metric(name="TicketReconcileErrors", unit="Count", value=errors)
    return {"rearmed": rearmed, "errors": errors}


def _timer_status(sfn: Any, execution_arn: str, ticket_id: str) -> str | None:
    """The execution's status, "MISSING" when it does not exist, None when it cannot be known."""
    from botocore.exceptions import ClientError

    try:
        return str(sfn.describe_execution(executionArn=execution_arn)["status"])
    except ClientError as exc:
        code = _sfn_error_code(exc)
        if code == "ExecutionDoesNotExist":
            return "MISSING"
        logger.warning("ticket timer status unknown; ticket left as it is",
                       extra={"ticket_id": ticket_id, "code": code})
        return None


# ------------------------------------------------------------------------------ queries + hooks
def view(ticket_id: str, *, with_history: bool = True) -> dict[str, Any]:
    """The ticket, its SLA clocks and — with `with_history` — its history and dwell times (per
    status, stage and team; wall and business time on the team's calendar)."""
    from wecom_oa.tickets.domain import Ticket, dwell_times
    from wecom_oa.worktime.sla import SlaState, evaluate

    item = app_table().get(Keys.ticket(ticket_id))
    if item is None:
        raise NotFound(f"ticket {ticket_id} not found")
    ticket = Ticket.model_validate(item)
    out = ticket.model_dump(mode="json")
    now = get_clock().now()
    calendar = calendars().for_team(ticket.team)
    if "sla" in item:
        policy = policies().select(ticket.type, ticket.priority.value)
        evaluation = evaluate(policy, SlaState.model_validate(item["sla"]), calendar, now, calendars=calendars())
        out["sla"] = {name: {"deadline": c.deadline, "explanation": c.explanation, "breached": c.breached,
                             "paused": c.paused, "stopped_at": c.stopped_at}
                      for name, c in evaluation.clocks.items()}
    if with_history:
        history = _repo().history(ticket_id)
        out["history"] = [entry.model_dump(mode="json") for entry in history]
        out["dwell"] = dwell_times(history, until=now, calendar=calendar).model_dump(mode="json")
    return out


def sla_snapshot(item: dict[str, Any], now: datetime) -> tuple[datetime | None, float | None]:
    """(deadline, ratio) of an open ticket's SLA clocks at `now`, for summaries and lists.

    A breached clock makes the ticket overdue from its own deadline (the earliest breached one), not
    from the timer's next wake-up; otherwise the deadline is the nearest one still running. The ratio
    is the largest share of its target any running clock has used (≥ 1: breached)."""
    from wecom_oa.tickets.domain import Ticket
    from wecom_oa.worktime.sla import SlaState, evaluate

    if "sla" not in item:
        return None, None
    ticket = Ticket.model_validate(item)
    policy = policies().select(ticket.type, ticket.priority.value)
    evaluation = evaluate(policy, SlaState.model_validate(item["sla"]), calendars().for_team(ticket.team), now,
                          calendars=calendars())
    running = [c for c in evaluation.clocks.values() if c.stopped_at is None]
    breached = [c.deadline for c in running if c.breached and c.deadline is not None]
    pending = [c.deadline for c in running if not c.breached and c.deadline is not None]
    ratios = [c.elapsed / c.target for c in running if c.target.total_seconds() > 0]
    deadline = min(breached) if breached else min(pending, default=None)
    return deadline, max(ratios, default=None)


def on_chat_message(event: Any) -> str | None:
    """Chat intake (the events worker's `text` route): a message starting with a type's chat
    keyword (ticket_types.yaml `chat.keywords`) opens a ticket of that type for the sender, who is
    told its id (template `chat.opened`). Returns the new ticket's id, None when nothing opened.

    Exactly one ticket per message however often it is delivered: the ticket id is claimed once
    on the stored callback event, and a redelivery finds that ticket already created."""
    match = catalog().chat_intake(getattr(event, "content", "") or "")
    if match is None:
        return None
    ticket_type, text = match
    body: dict[str, Any] = {"type": ticket_type.key, "title": (text or ticket_type.label)[:200],
                            "reporter": event.from_user_name, "source": "chat"}
    if ticket_type.chat and ticket_type.chat.text_field and text:
        body["fields"] = {ticket_type.chat.text_field: text}
    ticket_id = _claim_chat_ticket_id(event.idempotency_key)
    try:
        ticket = create(body, ticket_id=ticket_id)
    except AlreadyExists:
        logger.info("chat message already opened its ticket", extra={"ticket_id": ticket_id})
        return None
    except InvalidInput as exc:
        logger.info("chat message could not open a ticket", extra={"reason": exc.message})
        return None
    context = {"ticket_id": ticket["id"], "title": ticket["title"], "type_label": ticket_type.label}
    try:
        wiring.sender().send_text(_render("chat.opened", context), touser=[event.from_user_name])
    except Exception:  # noqa: BLE001 - the ticket exists; the confirmation is best effort
        logger.exception("chat ticket confirmation failed", extra={"ticket_id": ticket["id"]})
    return str(ticket["id"])


def _claim_chat_ticket_id(event_key: str) -> str:
    """The ticket id for the message stored under `event_key`: the first delivery claims a fresh
    id on the event record (conditional write); later deliveries read it back."""
    from wecom_oa.tickets.domain import new_ticket_id

    candidate = new_ticket_id(get_clock().now())
    try:
        app_table().update(Keys.callback_event(event_key), set_fields={"ticket_id": candidate},
                           condition="attribute_not_exists(ticket_id)")
    except Conflict:
        stored = (app_table().get(Keys.callback_event(event_key)) or {}).get("ticket_id")
        if stored:
            return str(stored)
        logger.warning("chat message has no stored event record; duplicates cannot be told apart",
                       extra={"idempotency_key": event_key})
    return candidate


def on_card_click(card: dict[str, Any], event: Any) -> None:
    """Clicks on ticket cards, where the handler is: `accept` on the assignment card (the clicker
    accepts; their button turns into 已接单; they get the handling card), then 解决 / 转派 / 备注 on
    the handling card and 确认转派 on the transfer card. A click that the ticket's status no longer
    allows (someone else accepted, the ticket closed) changes nothing."""
    from wecom_oa.wecom import cards as card_keys

    handlers = {card_keys.ACCEPT: _click_accept, card_keys.RESOLVE: _click_resolve,
                card_keys.TRANSFER: _click_transfer, card_keys.COMMENT: _click_comment,
                card_keys.TRANSFER_SUBMIT: _click_transfer_submit}
    handler = handlers.get(event.event_key)
    if handler is None:
        logger.warning("unexpected button on a ticket card", extra={"key": event.event_key})
        return
    handler(card, event)


def _grey_out(card: dict[str, Any], userid: str, state: str) -> None:
    from wecom_oa.messaging import cards

    code = cards.take_response_code(card["pk"].removeprefix("CARD#"), userid)
    if code is None:
        return
    try:
        wiring.sender().update_template_card(
            code, userids=[userid], replace_name=_card_builder().final_button_text(state))
    except Exception:  # noqa: BLE001 - the change is stored; the button update is cosmetic
        logger.exception("ticket card update failed", extra={"ticket_id": card["ref"]["ticket_id"]})


def _act_from_card(ticket_id: str, body: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return act(ticket_id, body)
    except Conflict as exc:  # illegal transition (already accepted/closed) or a concurrent change
        logger.info("ticket card click had no effect", extra={"ticket_id": ticket_id, "reason": exc.message})
        return None


def _click_accept(card: dict[str, Any], event: Any) -> None:
    if _act_from_card(card["ref"]["ticket_id"], {"action": "accept", "by": event.from_user_name}) is not None:
        _grey_out(card, event.from_user_name, "accepted")


def _send_actions_card(ticket_id: str) -> None:
    """The handler's card after an accept: 解决 / 转派 / 备注 (best effort, like every message)."""
    from wecom_oa.messaging import cards
    from wecom_oa.wecom.cards import new_task_id

    detail = view(ticket_id, with_history=False)
    assignee = detail.get("assignee")
    if not assignee:
        return
    task_id = new_task_id("tka")
    cards.register_card(task_id, "ticket", ref={"ticket_id": ticket_id}, recipients=[assignee])
    card = _card_builder().ticket_actions_card(
        task_id=task_id, ticket_id=ticket_id, title=detail["title"], status_label=_status_label(detail["status"]),
        assignee_name=_display_name(assignee), detail_url=_page(ticket_id))
    try:
        wiring.sender().send_template_card(card, touser=[assignee])
    except Exception:  # noqa: BLE001 - the acceptance is committed; the card is a convenience
        logger.exception("ticket actions card failed", extra={"ticket_id": ticket_id})


def _status_label(status: str) -> str:
    return str(catalog().status_labels.get(status, status))


def _click_resolve(card: dict[str, Any], event: Any) -> None:
    _try_resolve(card["ref"]["ticket_id"], event.from_user_name, {}, asked_by=event.idempotency_key, card=card)


def _try_resolve(ticket_id: str, userid: str, fields: dict[str, Any], *, asked_by: str,
                 card: dict[str, Any] | None = None, problem: str | None = None) -> None:
    """Resolve with the fields collected so far; a required field still missing is asked for in
    the chat (one at a time), with the previous answer's problem when there was one."""
    from wecom_oa.messaging import followups

    try:
        act(ticket_id, {"action": "resolve", "by": userid, "fields": fields})
    except InvalidInput as exc:
        missing = [d["field"].removeprefix("fields.") for d in exc.details or []
                   if isinstance(d, dict) and str(d.get("field", "")).startswith("fields.")]
        if not missing:
            raise
        detail = view(ticket_id, with_history=False)
        field_map = catalog().template_for(detail["type"]).field_map
        if given := [k for k in missing if k in fields]:  # an answer given is itself wrong: say so, ask again
            bad = field_map[given[0]]
            problem = _render("followup.invalid", {"label": bad.label, "value": str(fields[bad.key])[:50]})
            fields = {k: v for k, v in fields.items() if k != bad.key}
            missing = given
        spec = field_map[missing[0]]
        options = "、".join(o.label for o in spec.options)
        hint = (_render("followup.options", {"options": options}) if options
                else texts().get(f"followup.hint_{spec.type.value}", ""))
        prompt = _render("followup.field", {"ticket_id": ticket_id, "title": detail["title"], "label": spec.label,
                                            "hint": hint,
                                            "problem": problem or ""})
        ref = {"ticket_id": ticket_id, "action": "resolve", "field": spec.key, "fields": fields}
        if card is not None:  # its buttons are greyed out once the answers resolve the ticket
            ref["card_task_id"] = card["pk"].removeprefix("CARD#")
        followups.ask(userid, "ticket", ref, prompt, asked_by=asked_by)
        return
    except Conflict as exc:
        logger.info("ticket resolve had no effect", extra={"ticket_id": ticket_id, "reason": exc.message})
        return
    if card is not None:
        _grey_out(card, userid, "resolved")


def _click_comment(card: dict[str, Any], event: Any) -> None:
    from wecom_oa.messaging import followups

    ticket_id = card["ref"]["ticket_id"]
    detail = view(ticket_id, with_history=False)
    followups.ask(event.from_user_name, "ticket", {"ticket_id": ticket_id, "action": "comment"},
                  _render("followup.comment", {"ticket_id": ticket_id, "title": detail["title"]}),
                  asked_by=event.idempotency_key)


def on_followup(question: dict[str, Any], text: str, key: str) -> None:
    """The handler's chat answer to a ticket question: a comment, or a field needed to resolve."""
    ref, userid = question["ref"], question["pk"].removeprefix("FOLLOWUP#")
    if ref["action"] == "comment":
        try:
            act(ref["ticket_id"], {"action": "comment", "by": userid, "comment": text[:2000]})
        except (Conflict, InvalidInput) as exc:
            logger.info("ticket comment had no effect", extra={"ticket_id": ref["ticket_id"], "reason": exc.message})
        return
    spec = catalog().template_for(view(ref["ticket_id"], with_history=False)["type"]).field_map[ref["field"]]
    value: Any = next((o.value for o in spec.options if text in (o.label, o.value)), text)
    if spec.type in ("money", "number"):
        value = text.removesuffix(texts().get("followup.money_unit", "")).strip()
    card = app_table().get(Keys.card_task(ref["card_task_id"])) if ref.get("card_task_id") else None
    _try_resolve(ref["ticket_id"], userid, {**ref["fields"], spec.key: value}, asked_by=key, card=card)


def _click_transfer(card: dict[str, Any], event: Any) -> None:
    """The transfer card: the team's other people and the other teams, at most 10 choices."""
    from wecom_oa.messaging import cards
    from wecom_oa.wecom.cards import MAX_SELECT_OPTIONS, new_task_id

    ticket_id, userid = card["ref"]["ticket_id"], event.from_user_name
    detail = view(ticket_id, with_history=False)
    team = catalog().team_map.get(detail.get("team") or "")
    people = [u for u in dict.fromkeys((*(team.dispatchers if team else ()), *(team.backup if team else ())))
              if u != detail.get("assignee")]
    options = [(f"user:{u}", _display_name(u)) for u in people]
    options += [(f"team:{t.key}", _card_builder().team_option(t.label)) for t in catalog().teams
                if team is None or t.key != team.key]
    if not options:
        return
    task_id = new_task_id("tkx")
    cards.register_card(task_id, "ticket", ref={"ticket_id": ticket_id}, recipients=[userid])
    choice = _card_builder().ticket_transfer_card(task_id=task_id, ticket_id=ticket_id, title=detail["title"],
                                                  status_label=_status_label(detail["status"]),
                                                  options=options[:MAX_SELECT_OPTIONS])
    wiring.sender().send_template_card(choice, touser=[userid])


def _click_transfer_submit(card: dict[str, Any], event: Any) -> None:
    from wecom_oa.wecom.cards import TRANSFER_QUESTION

    chosen = next((i.option_ids[0] for i in event.selected_items
                   if i.question_key == TRANSFER_QUESTION and i.option_ids), None)
    if chosen is None or ":" not in chosen:
        logger.warning("transfer submitted without a choice", extra={"ticket_id": card["ref"]["ticket_id"]})
        return
    kind, value = chosen.split(":", 1)
    target = {"assignee": value} if kind == "user" else {"team": value}
    body = {"action": "transfer", "by": event.from_user_name, "to": target,
            "reason": _render("followup.transfer_reason", {"by": _display_name(event.from_user_name)})}
    try:
        done = _act_from_card(card["ref"]["ticket_id"], body)
    except InvalidInput as exc:
        logger.info("ticket transfer refused", extra={"ticket_id": card["ref"]["ticket_id"], "reason": exc.message})
        return
    if done is not None:
        _grey_out(card, event.from_user_name, "transferred")


# ------------------------------------------------------------------------------ queries
def open_page(team: str, start: Mapping[str, str] | None, limit: int
              ) -> tuple[list[tuple[dict[str, Any], dict[str, str]]], dict[str, str] | None]:
    """One page of a team's open tickets from the open index (reads ∝ `limit`): each ticket as the
    API shows it with its index key, and the key to continue from (None at the end)."""
    rows, last = _repo().open_page(team, start, limit)
    return [(t.model_dump(mode="json"), key) for t, key in rows], last


def list_open(team: str, status: str | None = None) -> dict[str, Any]:
    """GET /tickets: the team's open tickets, optionally of the comma-separated `status`es."""
    from wecom_oa.tickets.domain import Status

    statuses = [s for s in (status or "").split(",") if s] or None
    known = {s.value for s in Status}
    if unknown := [s for s in statuses or [] if s not in known]:
        raise InvalidInput(f"unknown status {', '.join(unknown)}",
                           details=[{"field": "status", "problem": f"one of {', '.join(sorted(known))}"}])
    return {"tickets": [t.model_dump(mode="json") for t in _repo().list_open(team, statuses)]}
