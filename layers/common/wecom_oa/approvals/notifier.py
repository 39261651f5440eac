"""Notifier tasks: approval stage cards (with the task token kept server-side), the outcome (every
card updated in place, applicant told, handover to-dos), and plain sends for other state machines.

Stage cards have deterministic task ids `{approval_id}-{stage}-{round}-{seq}`: a Lambda retry finds
the card registered, refreshes its task token and does not send it twice. The card is registered
BEFORE it is sent, so a click can never arrive for an unknown card.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wecom_oa import wiring
from wecom_oa.approvals import service as approvals
from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import get_clock
from wecom_oa.errors import AlreadyExists, OAError
from wecom_oa.messaging import cards
from wecom_oa.observability import logger
from wecom_oa.wecom.errors import TaskIdDuplicate

if TYPE_CHECKING:  # the task models (pydantic) are parsed and imported by the handler, on its first event
    from wecom_oa.approvals.models import OutcomeTask, SendTask, StageCardsTask

SEND_CODE = "@send"  # response_codes entry holding message/send's code (updates every recipient)


def builder() -> Any:
    from wecom_oa.settings import get_settings
    from wecom_oa.wecom.cards import CardBuilder

    return CardBuilder(timezone=get_settings().default_timezone)


def _fields(a: dict[str, Any]) -> list[tuple[str, str]]:
    from wecom_oa.approvals.prechecks import default_templates, display

    t = approvals.texts()
    rows = []
    for name, value in (a.get("form") or {}).items():
        if value in (None, "", []) or not t.has("fields", name):
            continue
        if name == "leave_type":
            value = default_templates().leave_type_name(str(value))
        rows.append((t.text("fields", name), display(value)))
    return rows


def stage_cards(task: StageCardsTask) -> dict[str, Any]:
    """A stage's wait begins: send its cards with the wait's token, or, when the click that opened
    the stage already sent its card (`task.card`), give that card the token."""
    if task.card:
        return _arm_card(task)
    a = approvals.repo().get(task.approval_id)
    st = (a.get("stages") or {})[str(task.stage)]
    if st["status"] in ("approved", "rejected"):
        # Decided before this wait began (a click raced a timeout): resume at once.
        approvals._send_task_success(task.task_token, {"outcome": st["status"], "by": st.get("decided_by")},
                                     {"approval_id": task.approval_id, "stage": task.stage})
        return {"sent": 0}
    if st["mode"] == "sequential":
        nxt = approvals._next_in_line(task.approval_id, st)
        recipients = [nxt] if nxt else []
    else:
        recipients = approvals._pending_approvers(task.approval_id, st)
    return {"sent": send_stage_card(task.approval_id, task.stage, task.round, task.task_token, recipients, a=a)}


def _arm_card(task: StageCardsTask) -> dict[str, Any]:
    """Store the wait's token on the card the deciding click registered and sent. A click that came
    first closed the card without a token to resume (its transaction required none), so the wait
    resumes here: the card record is the one item both write, which decides who resumes it."""
    assert task.card is not None
    card = cards.attach_token(task.card, task.task_token)
    if card.get("status") == "closed":
        logger.info("stage decided before its wait was armed: resumed", extra={"approval_id": task.approval_id,
                                                                                "stage": task.stage})
        approvals._send_task_success(task.task_token, {"outcome": card.get("outcome"), "by": None},
                                     {"approval_id": task.approval_id, "stage": task.stage})
    return {"sent": 0}


def _page(approval_id: str) -> str | None:
    from wecom_oa.digests.config import page_url  # here: the digest config is not on the cold path

    return page_url("approval", approval_id)


def send_stage_card(approval_id: str, stage: int, round_: int, token: str | None, recipients: list[str], *,
                    a: dict[str, Any] | None = None) -> int:
    """Register then send one stage card to `recipients`; returns 1 if sent now, 0 if already sent.
    `a`: the approval item when the caller has just read it."""
    if not recipients:
        return 0
    a = a if a is not None else approvals.repo().get(approval_id)
    same_round = {t: c for t, c in (a.get("cards") or {}).items()
                  if int(c["stage"]) == stage and int(c["round"]) == round_}
    sent = [t for t, c in same_round.items() if c["recipients"] == recipients]
    if sent:  # a retry of a send that completed: the new attempt's token replaces the old one
        app_table().update(Keys.card_task(sent[0]), set_fields={"task_token": token})
        return 0
    task_id = f"{approval_id}-{stage}-{round_}-{len(same_round)}"
    try:
        cards.register_card(task_id, "approval_stage", ref={"approval_id": approval_id, "stage": stage,
                                                            "round": round_},
                            recipients=recipients, task_token=token)
    except AlreadyExists:  # registered, then failed before it was recorded as sent: send now
        app_table().update(Keys.card_task(task_id), set_fields={"task_token": token})
    _deliver_stage_card(a, stage, task_id, recipients)
    approvals.repo().add_card(approval_id, task_id, {"stage": stage, "round": round_, "recipients": recipients})
    return 1


def send_registered_stage_card(a: dict[str, Any], stage: int, round_: int, task_id: str, recipients: list[str]) -> None:
    """Send the card a deciding click registered for the stage it opened (in the approval's `cards`
    already; its wait's token comes when the wait begins, `_arm_card`)."""
    _deliver_stage_card(a, stage, task_id, recipients)


def _deliver_stage_card(a: dict[str, Any], stage: int, task_id: str, recipients: list[str]) -> None:
    approval_id = a["id"]
    st = a["stages"][str(stage)]
    flags = [f["message"] for f in a.get("findings") or [] if f.get("severity") == "flag"]
    card = builder().approval_card(
        task_id=task_id, approval_id=approval_id, type_name=approvals.type_name(a["type"]),
        applicant=a["applicant"], applicant_name=a.get("applicant_name") or a["applicant"],
        submitted_at=_when(a["created_at"]), fields=_fields(a), flags=flags, stage=stage, stage_name=st["name"],
        detail_url=_page(approval_id))
    try:
        result = wiring.sender().send_template_card(card, touser=recipients)
    except TaskIdDuplicate:
        # An earlier attempt's send landed but its answer was lost (timeout, reset): the card is
        # there. Only its send response code is unknown, so the other recipients' cards are closed
        # when they click (each click brings its own code).
        logger.warning("stage card already delivered by an earlier attempt", extra={"task_id": task_id,
                                                                                    "approval_id": approval_id})
    else:
        if result.response_code:
            cards.remember_response_code(task_id, SEND_CODE, result.response_code)


def _when(iso: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(iso)


def outcome(task: OutcomeTask) -> dict[str, Any]:
    """The `approval_outcome` task of executions started before `finalize` told the outcome itself."""
    return outcome_of(approvals.repo().get(task.approval_id))


def outcome_of(a: dict[str, Any]) -> dict[str, Any]:
    """The final approval `a` told: every card still live shows the outcome (a card its stage's
    deciding click closed is marked `closed` in `cards` and has had its final update), the applicant
    learns it, an approved leave's handover colleagues get their to-dos, workflows start."""
    approved = a["status"] == "approved"
    by = a.get("decided_by") or approvals.SYSTEM
    by_name = display_name(by)
    updated = sum(_finalize_card(a, task_id, info, approved, by_name)
                  for task_id, info in (a.get("cards") or {}).items() if not info.get("closed"))
    t = approvals.texts()
    key = "approved" if approved else "rejected"
    reason = None if approved else _rejection_reason(a)
    if reason:
        key = "rejected_with_reason"
    content = t.text("messages", key, type_name=approvals.type_name(a["type"]), approval_id=a["id"], by_name=by_name,
                     **({"reason": reason} if reason else {}))
    wiring.sender().send_text(content, touser=[a["applicant"]], duplicate_check=True)
    handovers = send_handover(a) if approved else 0
    if approved:
        start_workflows(a)
    return {"cards_updated": updated, "handover": handovers}


def start_workflows(a: dict[str, Any]) -> list[str]:
    """The workflows an approved request starts (an approved 入职申请: the onboarding), once each."""
    from wecom_oa.workflows import service as workflows

    return workflows.start_for_approval(a)


def _rejection_reason(a: dict[str, Any]) -> str | None:
    """The reason the rejecting approver gave (a timeout's code is not a person's reason)."""
    for _, st in approvals.stage_states(a):
        if st.get("status") == "rejected" and st.get("decided_by") not in (None, approvals.SYSTEM):
            return st.get("reason") or None
    return None


def answer_late_click(a: dict[str, Any], task_id: str, userid: str, st: dict[str, Any], *,
                      code: str | None = None) -> None:
    """Someone clicked a card whose step was already decided: their card shows the decision (their
    click brought a fresh response code: `code`, else the one stored for them) and they are told
    their click changed nothing."""
    decided_by = st.get("decided_by") or a.get("decided_by") or approvals.SYSTEM
    approved = (st.get("status") or a.get("status")) == "approved"
    by_name = display_name(decided_by)
    if code:
        _update_card(a, task_id, [userid], {userid: code}, approved, by_name)
    else:
        info = (a.get("cards") or {}).get(task_id) or {"recipients": [userid]}
        _finalize_card(a, task_id, {**info, "recipients": [userid]}, approved, by_name, once=False)
    t = approvals.texts()
    words = builder().t.approval_final
    decision = words.approved if approved else words.rejected
    wiring.sender().send_text(t.text("messages", "late_click", type_name=approvals.type_name(a["type"]),
                                     approval_id=a["id"], by_name=display_name(decided_by), decision=decision),
                              touser=[userid])


def display_name(userid: str) -> str:
    if userid == approvals.SYSTEM:
        return approvals.texts().text("messages", "system_actor")
    try:
        return wiring.directory().user(userid).name
    except OAError:
        return userid


def show_decision(a: dict[str, Any], task_id: str, recipients: list[str], codes: dict[str, str], outcome: str,
                  by: str) -> int:
    """The card a click decided shows the decision to every recipient, with the codes the click's
    transaction took off the card (`codes`: userid or SEND_CODE → code; the click's own among them).
    Its final update was claimed by that transaction. Returns how many updates were made."""
    return _update_card(a, task_id, recipients, codes, outcome == "approved", display_name(by))


def close_card_for(a: dict[str, Any], task_id: str, outcome: str, by: str) -> int:
    """Another card of a decided round shows the decision (its final update claimed here)."""
    info = (a.get("cards") or {}).get(task_id) or {"recipients": []}
    return _finalize_card(a, task_id, info, outcome == "approved", display_name(by))


def _update_card(a: dict[str, Any], task_id: str, recipients: list[str], codes: dict[str, str], approved: bool,
                 by_name: str) -> int:
    card = _final_card(a, task_id, approved, by_name)
    client = wiring.sender()
    mine = [u for u in recipients if codes.get(u)]
    updates = sum(_update(client, codes[u], [u], card, task_id) for u in mine)
    rest = [u for u in recipients if u not in mine]
    if rest and codes.get(SEND_CODE):
        updates += _update(client, codes[SEND_CODE], rest, card, task_id)
    return updates


def _final_card(a: dict[str, Any], task_id: str, approved: bool, by_name: str) -> dict[str, Any]:
    return builder().approval_final_card(
        task_id=task_id, approval_id=a["id"], type_name=approvals.type_name(a["type"]),
        applicant_name=a.get("applicant_name") or a["applicant"], approved=approved, by_name=by_name,
        decided_at=_when(a.get("decided_at") or get_clock().now().isoformat()), fields=_fields(a))


def _finalize_card(a: dict[str, Any], task_id: str, info: dict[str, Any], approved: bool, by_name: str, *,
                   once: bool = True) -> int:
    """Update one card for every recipient: a clicker's own code first, the send code for the rest.
    Codes are single-use (`take_response_code` consumes them), so a retry never reuses one. `once`:
    only the first final update of the card (its stage closing it, else the approval's outcome) is
    made; the update itself is durable (the sender re-attempts it)."""
    if once and not cards.claim_final_update(task_id):
        return 0
    card = _final_card(a, task_id, approved, by_name)
    client = wiring.sender()
    rest, updates = [], 0
    for userid in info["recipients"]:
        code = cards.take_response_code(task_id, userid)
        if code is None:
            rest.append(userid)
            continue
        updates += _update(client, code, [userid], card, task_id)
    code = cards.take_response_code(task_id, SEND_CODE) if rest else None
    if code:
        updates += _update(client, code, rest, card, task_id)
    return updates


def _update(client: Any, code: str, userids: list[str], card: dict[str, Any], task_id: str) -> int:
    try:
        client.update_template_card(code, userids=userids, card=card)
    except OAError as exc:
        logger.warning("approval card not updated", extra={"task_id": task_id, "error": exc.code})
        return 0
    return 1


def send_handover(a: dict[str, Any]) -> int:
    """待办 to the approved leave's handover colleagues (form.handover_to); returns how many were told.
    A colleague in a project group gets a task (services.tasks, once per approval and colleague) sent
    as a to-do card with a 完成 button; the others get the text."""
    from wecom_oa.tasks import service as tasks

    to = _handover_colleagues(a)
    if not to:
        return 0
    carded = tasks.create_handover_tasks(a, to, _applicant_name(a), approvals.type_name(a["type"]),
                                         _handover_text(a, "handover"))
    _to_handover(a, "handover", [u for u in to if u not in carded])
    return len(to)


def send_handover_cancelled(a: dict[str, Any]) -> int:
    """The approval was revoked: the handover colleagues learn the 待办 is off; their tasks are cancelled."""
    from wecom_oa.tasks import service as tasks

    to = _handover_colleagues(a)
    if to:
        tasks.cancel_handover_tasks(a, to)
    return _to_handover(a, "handover_cancelled", to)


def _handover_colleagues(a: dict[str, Any]) -> list[str]:
    handover = (a.get("form") or {}).get("handover_to") or []
    return [u for u in (handover if isinstance(handover, list) else [handover]) if isinstance(u, str) and u]


def _applicant_name(a: dict[str, Any]) -> str:
    return a.get("applicant_name") or display_name(a["applicant"])


def _handover_text(a: dict[str, Any], message: str) -> str:
    form = a.get("form") or {}
    return approvals.texts().text(
        "messages", message, applicant_name=_applicant_name(a),
        type_name=approvals.type_name(a["type"]), start=form.get("start", ""), end=form.get("end", ""),
        approval_id=a["id"])


def _to_handover(a: dict[str, Any], message: str, to: list[str]) -> int:
    if not to:
        return 0
    wiring.sender().send_text(_handover_text(a, message), touser=to, duplicate_check=True)
    return len(to)


def send(task: SendTask) -> dict[str, Any]:
    sender = wiring.sender()
    fn = sender.send_markdown if task.msgtype == "markdown" else sender.send_text
    result = fn(task.content, touser=task.touser)
    return {"calls": result.calls, "invaliduser": result.invaliduser}


def dispatch(task: Any) -> dict[str, Any]:
    from wecom_oa.approvals.models import OutcomeTask, StageCardsTask

    if isinstance(task, StageCardsTask):
        return stage_cards(task)
    if isinstance(task, OutcomeTask):
        return outcome(task)
    return send(task)
