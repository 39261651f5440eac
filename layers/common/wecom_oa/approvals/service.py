"""Approvals: submit and dry-run (HTTP API), the approval state machine's tasks, card clicks and
native WeCom approval changes.

Lifecycle: `submit` evaluates the active rule set once (the decision, rule set version, matched row
and input snapshot are stored with the approval). auto_reject is final at submit: the applicant gets
the suggestion and no execution starts. route and auto_approve start the execution
`approval-{id}` (deterministic name), which walks the stages (`next_stage` → cards with a task token
→ click or `stage_timeout`) and ends with `finalize` (which also tells the outcome: cards, applicant,
handover) → EventBridge.

Stage state lives in the approval item (`stages["n"]`: status pending|open|approved|rejected|
skipped, round, round_approvers, reminders, escalations, decisions userid → decision). Every move is
a conditional write, so a Lambda retry, a late click or a click racing a timeout changes nothing
twice, and SendTaskSuccess is sent once per stage (after the winning open → decided transition).

The click path (budget: 3 invocations, 8 DynamoDB calls; bench/bench_click_path.py): the callback
stores and enqueues; the worker reads the card and the approval once each and writes one
transaction (`_record_click`) holding the decision, the stage's outcome and either the next stage
opened with its card registered or the approval's final status; it resumes the wait with the next
step, updates the decided card and sends the next card itself. The execution then goes straight to
that stage's wait, whose notifier task only stores its token on the card (`notifier._arm_card`), or
to `finalize`.

Timeouts (per stage, from the rule set): `remind` re-sends cards (a new round) up to
max_reminders times, then escalates once to the pending approvers' leaders; `escalate` escalates
up to max(1, max_reminders) levels; when nobody is left above, the stage is rejected as expired.
`auto_approve` / `auto_reject` decide the stage as the system.

Channel `wecom` (`POST /approvals` with `"channel": "wecom"`): the rule set is evaluated the same
way, but a routed approval is submitted into WeCom's 审批 app (oa/applyevent, our computed route as
process.node_list, the template and control ids of config/wecom_approvals.yaml) instead of starting
the execution; its sp_no is stored with the approval and linked from the `wecom-{sp_no}` record, so
the sys_approval_change callbacks for it decide the same approval (final SpStatus 2/3). auto_reject
stays decided at submit (no WeCom form); auto_approve has nobody to route to and runs the execution.

Daily summary (services.digests): `submit` stores `group`, the project group of the applicant's main
department (`project_group`); while a stage (round) of our execution waits, the item carries
`current_approver`, `owner_name` and, for a stage with a timeout, `due_at`. A channel-wecom approval
has a group but no owner fields (WeCom walks its stages).
"""

from __future__ import annotations

import json
import secrets
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wecom_oa import wiring
from wecom_oa.approvals.store import OPEN_KIND, ApprovalRepository, DynamoSeenInvoices
from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import company_stamp, get_clock, utc_iso
from wecom_oa.errors import ConfigurationError, Conflict, InvalidInput, NotFound, OAError
from wecom_oa.messaging import cards
from wecom_oa.observability import logger

if TYPE_CHECKING:
    from wecom_oa.approvals import rules
    from wecom_oa.approvals.models import (
        ApprovalCreated,
        Channel,
        CreateApproval,
        Finalized,
        StageStep,
        SubmitApproval,
    )
    from wecom_oa.approvals.prechecks import ApprovalTemplates
    from wecom_oa.approvals.rules_lint import RuleRegistry

# The rule engine (rules, rules_lint, prechecks, yaml), budgets and the directory's `leader` are
# imported by the functions that use them: the state machine's stage tasks and the notifier mostly
# read and move stored approvals, so their cold start does not load a rule set's machinery.
# The boundary models (approvals.models) and the settings, and with them pydantic, are imported by
# the functions that build or read them, so importing this module loads no pydantic.

DEFAULT_STAGE_TIMEOUT = 7 * 24 * 3600
MIN_TIMEOUT = 60
SYSTEM = "system"
SECONDS_PER_DAY = Decimal(86400)  # a day-based WeCom quota or duration, in seconds
LATE_TOKEN_ERRORS = ("TaskTimedOut", "InvalidToken", "TaskDoesNotExist")


# -- wiring ---------------------------------------------------------------------------------------

_registries: dict[Path, RuleRegistry] = {}


def registry() -> RuleRegistry:
    from wecom_oa.approvals.rules_lint import RuleRegistry
    from wecom_oa.settings import get_settings

    root = get_settings().config_dir / "approval_rules"
    if root not in _registries:
        _registries[root] = RuleRegistry(root)
    return _registries[root]


def repo() -> ApprovalRepository:
    return ApprovalRepository(app_table())


@lru_cache(maxsize=4)
def _texts(path: Path) -> ApprovalTemplates:
    from wecom_oa.approvals.prechecks import ApprovalTemplates

    return ApprovalTemplates.load(path)


def texts() -> ApprovalTemplates:
    """Notification texts (templates/approval_notifications.yaml)."""
    from wecom_oa.settings import get_settings

    return _texts(get_settings().templates_dir / "approval_notifications.yaml")


class WeComLeaveBalances:
    """LeaveBalanceProvider over oa/vacation/getuservacationquota; vacation names map to leave types
    through templates/approvals.yaml `leave_types` (a type WeCom does not track is not limited).
    Quotas are seconds: a day-based type counts 86 400 s per day, an hourly one (often 调休) the
    `perday_duration` of oa/vacation/getcorpconf (e.g. 8 h), so balances come out in working days."""

    def __init__(self, client: Any, templates: ApprovalTemplates,
                 booked: Callable[[str], Mapping[str, Decimal]] | None = None) -> None:
        self._client, self._templates, self._booked = client, templates, booked

    def balances(self, userid: str) -> dict[str, Decimal]:
        from wecom_oa.approvals import rules

        by_name = {self._templates.leave_type_name(t): t for t in typing.get_args(rules.LeaveType)}
        quotas = [q for q in self._client.oa_get_user_vacation_quota(userid) if q.vacationname in by_name]
        per_day = self._seconds_per_day() if quotas else {}
        left = {by_name[q.vacationname]: Decimal(q.leftduration) / per_day.get(q.id, SECONDS_PER_DAY) for q in quotas}
        # Leave approved here (not in WeCom) is not in WeCom's quota yet: the ledger has it.
        for leave_type, days in (self._booked(userid) if self._booked else {}).items():
            if leave_type in left:
                left[leave_type] = max(Decimal(0), left[leave_type] - days)
        return left

    def _seconds_per_day(self) -> dict[int, Decimal]:
        try:
            configs = self._client.oa_get_vacation_config()
        except OAError as exc:  # e.g. no 假期 permission: day-based figures are the best we have
            logger.warning("vacation config unavailable; counting 24 h per day", extra={"problem": exc.message})
            return {}
        return {c.id: Decimal(c.seconds_per_day) for c in configs}


def context() -> rules.EvaluationContext:
    from wecom_oa.approvals import leaves, rules
    from wecom_oa.approvals.prechecks import builtin_prechecks, default_templates
    from wecom_oa.budgets import service as budgets

    checks = builtin_prechecks(balances=WeComLeaveBalances(wiring.wecom_client(), default_templates(),
                                                           booked=leaves.booked_days),
                               invoices=DynamoSeenInvoices(repo()), budgets=budgets.LazyBudgets())
    return rules.EvaluationContext(directory=wiring.directory(), prechecks=checks)


def _active_ruleset(approval_type: str) -> rules.RuleSet:
    try:
        return registry().active(approval_type)
    except NotFound:
        raise InvalidInput(f"type: unknown approval type {approval_type!r}",
                           details=[{"field": "type", "problem": f"one of {registry().types()}"}]) from None


def check_form(req: CreateApproval) -> None:
    """400 when the form breaks its bounds (`rules.check_form_bounds`: size, nesting, list
    lengths, keys that are not fields of the type), before any name in it is looked up."""
    from wecom_oa.approvals import rules

    rules.check_form_bounds(_active_ruleset(req.type), req.form)


def evaluate_request(req: CreateApproval, request_id: str | None = None) -> rules.Decision:
    from wecom_oa.approvals import rules

    ruleset = _active_ruleset(req.type)
    request = rules.ApprovalRequest(type=req.type, applicant=req.applicant, form=req.form, request_id=request_id)
    return rules.evaluate(ruleset, request, context())


# -- what the HTTP API calls (approvals/api.py) ---------------------------------------------------

def create_checked(body: SubmitApproval) -> ApprovalCreated:
    """POST /approvals: the form within its bounds, the applicant and any handover colleague
    members of the directory, then `submit`."""
    from wecom_oa import people
    from wecom_oa.approvals.models import CreateApproval

    req = CreateApproval.model_validate(body.model_dump(exclude={"channel"}))
    check_form(req)
    people.require_member(req.applicant, "applicant")
    handover = req.form.get("handover_to")
    if handover and isinstance(handover, str | list):  # another shape is named by the form's own validation
        people.require_members([handover] if isinstance(handover, str) else [str(u) for u in handover],
                               "form.handover_to")
    return submit(req, body.channel)


def new_id() -> str:
    return f"AP{company_stamp(get_clock().now())}-{secrets.token_hex(4)}"


def submit(req: CreateApproval, channel: Channel = "app") -> ApprovalCreated:
    """Evaluate, store, then start the execution (route, auto_approve), submit the WeCom form
    (channel wecom, route) or tell the applicant (auto_reject)."""
    from wecom_oa.approvals.models import ApprovalCreated

    approval_id = new_id()
    decision = evaluate_request(req, approval_id)
    native = channel == "wecom" and decision.outcome == "route"
    template_id = _native_template(req.type) if native else None
    now = get_clock().now()
    applicant = wiring.directory().user(req.applicant)
    item = {
        "id": approval_id, "type": req.type, "applicant": req.applicant, "applicant_name": applicant.name,
        "form": json.loads(json.dumps(req.form, default=str)), "status": decision.status,
        "outcome": decision.outcome, "ruleset_version": decision.ruleset_version,
        "matched_rows": decision.matched_rows, "explanation": decision.explanation,
        "inputs": json.loads(json.dumps(decision.inputs, default=str)),
        "findings": [f.model_dump(mode="json") for f in decision.findings],
        "suggestion": decision.suggestion, "reason": decision.reason, "current_stage": 0, "cards": {},
        "stages": {str(s.index): _stage_state(s) for s in decision.route},
        "created_at": now.isoformat(), "decided_at": now.isoformat() if decision.status != "pending" else None,
        "decided_by": SYSTEM if decision.status != "pending" else None,
        "channel": "wecom" if native else "app",
    }
    group = project_group(applicant.department)
    if group is not None:
        item["group"] = group
    store = repo()
    store.create(item, open_due_iso=now.isoformat() if decision.status == "pending" else None)
    if req.form.get("invoice_no"):
        store.record_invoice(approval_id, str(req.form["invoice_no"]), req.applicant, now)
    if decision.outcome == "auto_reject":
        _tell_applicant_auto_rejected(item)
    elif template_id is not None:
        _submit_native(item, template_id, decision.route)
    else:
        start_execution(approval_id)
    return ApprovalCreated(id=approval_id, status=decision.status, outcome=decision.outcome,
                           route=[s.model_dump(mode="json") for s in decision.route],
                           suggestion=decision.suggestion, findings=item["findings"])


def project_group(department: int | None) -> str | None:
    """The project group (config/digests.yaml `groups`) whose daily summary lists an approval of an
    applicant in `department`; None for no group. An unreadable digest config or directory leaves
    the approval without a group (logged), it never fails the submission."""
    from wecom_oa.digests.config import digest_config
    from wecom_oa.digests.schedules import group_of

    directory = wiring.directory()

    def parent_of(dept: int) -> int | None:
        try:
            return directory.department(dept).parentid
        except OAError as exc:
            logger.warning("department not readable; its ancestors are not matched to project groups",
                           extra={"department": dept, "error": type(exc).__name__})
            return None

    try:
        groups = digest_config().groups
    except ConfigurationError as exc:
        logger.error("digest config unreadable; approval has no project group", extra={"problem": exc.message})
        return None
    return group_of(department, groups, parent_of)


def _waiting_on(approvers: list[str], st: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(fields to set, fields to remove) on the approval while a stage (round) waits on `approvers`:
    who the daily summary names (`current_approver`: the first, `owner_name`: all, "、"-joined) and,
    when the stage has a timeout, `due_at` = now + that timeout."""
    fields: dict[str, Any] = {"current_approver": approvers[0] if approvers else None,
                              "owner_name": "、".join(_names(approvers)[u] for u in approvers)}
    if not st.get("timeout"):
        return fields, ("due_at",)
    fields["due_at"] = (get_clock().now() + timedelta(seconds=_timeout_seconds(st))).isoformat()
    return fields, ()


def _stage_state(stage: rules.ResolvedStage) -> dict[str, Any]:
    return {**stage.model_dump(mode="json"), "status": "skipped" if stage.skipped or not stage.approvers else "pending",
            "round": 0, "round_approvers": list(stage.approvers), "reminders": 0, "escalations": 0, "decisions": {}}


def _tell_applicant_auto_rejected(item: dict[str, Any]) -> None:
    t = texts()
    content = t.text("messages", "auto_rejected", type_name=type_name(item["type"]), approval_id=item["id"],
                     reason=item.get("reason") or "", suggestion=item.get("suggestion") or "")
    wiring.sender().send_text(content, touser=[item["applicant"]], duplicate_check=True)


def start_execution(approval_id: str) -> None:
    from wecom_oa.settings import get_settings

    arn = get_settings().approval_state_machine_arn
    if not arn:
        raise ConfigurationError("APPROVAL_STATE_MACHINE_ARN is not set")
    sfn = wiring.aws("stepfunctions")
    try:
        sfn.start_execution(stateMachineArn=arn, name=f"approval-{approval_id}",
                            input=json.dumps({"approval_id": approval_id}))
    except sfn.exceptions.ExecutionAlreadyExists:
        logger.info("approval execution already started", extra={"approval_id": approval_id})


def view(approval_id: str) -> dict[str, Any]:
    a = repo().get(approval_id)
    decisions = repo().decisions(approval_id)
    stages = []
    for key, st in _stages(a):
        mine = [{"userid": d["userid"], "decision": d["decision"], "round": d["round"], "at": d["at"]}
                for d in decisions if d["stage"] == key]
        stages.append({k: st.get(k) for k in ("index", "name", "mode", "approvers", "approver_names", "status",
                                               "round", "round_approvers", "decided_by", "decided_at", "reason")}
                      | {"decisions": mine})
    return {k: a.get(k) for k in ("id", "type", "applicant", "status", "outcome", "ruleset_version", "matched_rows",
                                   "explanation", "inputs", "form", "findings", "suggestion", "reason",
                                   "created_at", "decided_at", "decided_by", "withdrawn_at", "revoked_at",
                                   "error")} | {
        "channel": a.get("channel") or "app", "sp_no": a.get("sp_no"), "stages": stages}


def summary(a: Mapping[str, Any]) -> dict[str, Any]:
    """An approval as a list shows it."""
    return {k: a.get(k) for k in ("id", "type", "applicant", "status", "outcome", "created_at", "decided_at",
                                   "decided_by", "current_approver", "due_at")} | {"channel": a.get("channel") or "app"}


def type_name(approval_type: str) -> str:
    t = texts()
    return t.text("types", approval_type) if t.has("types", approval_type) else approval_type


# -- state machine tasks --------------------------------------------------------------------------

def _stages(a: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    return sorted(((int(k), v) for k, v in (a.get("stages") or {}).items()), key=lambda kv: kv[0])


def _timeout_seconds(st: dict[str, Any]) -> int:
    timeout = st.get("timeout") or {}
    return max(MIN_TIMEOUT, int(timeout.get("after_seconds") or DEFAULT_STAGE_TIMEOUT))


def _step(st: dict[str, Any], nxt: str = "wait", *, done: bool = False) -> StageStep:
    from wecom_oa.approvals.models import StageStep

    return StageStep(done=done, stage=int(st.get("index") or 0), round=max(1, int(st.get("round") or 1)),
                     timeout_seconds=_timeout_seconds(st), next=nxt)


def evaluate_task(approval_id: str) -> dict[str, str]:
    return {"outcome": repo().get(approval_id)["outcome"]}


def next_stage(approval_id: str) -> StageStep:
    """Open the next pending stage (idempotent: an open stage is returned as it is)."""
    from wecom_oa.approvals.models import StageStep

    store = repo()
    for _ in range(5):
        a = store.get(approval_id)
        current = int(a.get("current_stage") or 0)
        if a["status"] != "pending":
            return StageStep(done=True, stage=current, round=1, timeout_seconds=MIN_TIMEOUT, next="finish")
        states = dict(_stages(a))
        if current and states[current]["status"] == "open":
            return _step(states[current])
        if current and states[current]["status"] == "rejected":
            return StageStep(done=True, stage=current, round=1, timeout_seconds=MIN_TIMEOUT, next="finish")
        opening = _opening(a, current)
        if opening is None:
            return StageStep(done=True, stage=current, round=1, timeout_seconds=MIN_TIMEOUT, next="continue")
        index, st, fields, stale = opening
        try:
            store.update(approval_id, {"current_stage": index, **fields},
                         condition="current_stage = :c", values={":c": current}, remove=stale)
        except Conflict:
            continue  # a concurrent retry moved first; read again
        return _step({**st, "round": 1})
    raise Conflict(f"approval {approval_id}: stage could not be opened (concurrent updates)")


def _opening(a: dict[str, Any], after: int) -> tuple[int, dict[str, Any], dict[Any, Any], tuple[str, ...]] | None:
    """The first pending stage after stage `after` and the fields that open it (round 1, no
    decisions yet, whom the daily summary names), or None when no stage is left."""
    following = [(i, s) for i, s in _stages(a) if i > after and s["status"] == "pending"]
    if not following:
        return None
    index, st = following[0]
    owner, stale = _waiting_on(list(st["round_approvers"]), st)
    key = str(index)
    fields = {("stages", key, "status"): "open", ("stages", key, "round"): 1,
              ("stages", key, "opened_at"): get_clock().now().isoformat(), ("stages", key, "decisions"): {}, **owner}
    return index, st, fields, stale


def stage_timeout(approval_id: str, stage: int, round_: int) -> StageStep:
    """Apply the stage's timeout action (see the module docstring)."""
    a = repo().get(approval_id)
    st = dict(_stages(a))[stage]
    if st["status"] != "open" or int(st["round"]) != round_:
        # Decided (or moved on) while the wait timed out: follow what happened.
        nxt = {"approved": "continue", "rejected": "finish"}.get(st["status"], "wait")
        return _step(st, nxt)
    _close_round_cards(a, stage, round_, "superseded")
    timeout = st.get("timeout") or {"action": "remind", "max_reminders": 0}
    action, max_reminders = timeout["action"], int(timeout.get("max_reminders") or 0)
    if action in ("auto_approve", "auto_reject"):
        outcome = "approved" if action == "auto_approve" else "rejected"
        _decide_stage(approval_id, stage, outcome, SYSTEM)
        return _step(st, "continue" if outcome == "approved" else "finish")
    pending = _pending_approvers(approval_id, st)
    if action == "remind" and int(st["reminders"]) < max_reminders:
        return _new_round(approval_id, st, pending, "reminders")
    levels = max(1, max_reminders) if action == "escalate" else 1
    leaders = _leaders(pending, a["applicant"]) if int(st["escalations"]) < levels else []
    if leaders:
        return _new_round(approval_id, st, leaders, "escalations")
    _decide_stage(approval_id, stage, "rejected", SYSTEM, reason="expired")
    return _step(st, "finish")


def _pending_approvers(approval_id: str, st: dict[str, Any]) -> list[str]:
    decided = stage_decisions(approval_id, st)
    return [u for u in st["round_approvers"] if u not in decided]


def stage_decisions(approval_id: str, st: dict[str, Any]) -> dict[str, str]:
    """userid → approved|rejected of the stage so far. The stage state holds them (`decisions`,
    written with each decision); a stage opened before it did is read from its decision items."""
    if "decisions" in st:
        return dict(st["decisions"])
    return {d["userid"]: d["decision"] for d in repo().decisions(approval_id, int(st["index"]))}


def _leaders(userids: list[str], applicant: str) -> list[str]:
    from wecom_oa.directory import leader

    directory = wiring.directory()
    found = [leader(directory, u, 1) for u in userids]
    return list(dict.fromkeys(u for u in found if u and u != applicant))


def _new_round(approval_id: str, st: dict[str, Any], approvers: list[str], counter: str) -> StageStep:
    key, round_ = str(st["index"]), int(st["round"])
    owner, stale = _waiting_on(approvers, st)
    repo().update(approval_id, {("stages", key, "round"): round_ + 1, ("stages", key, "round_approvers"): approvers,
                                ("stages", key, counter): int(st[counter]) + 1, **owner},
                  condition="#sg.#n.#r = :r AND #sg.#n.#st = :open", values={":r": round_, ":open": "open"},
                  names={"#sg": "stages", "#n": key, "#r": "round", "#st": "status"}, remove=stale)
    logger.info("approval stage timed out: new round", extra={"approval_id": approval_id, "stage": st["index"],
                                                              "round": round_ + 1, "why": counter})
    return _step({**st, "round": round_ + 1})


def _decide_stage(approval_id: str, stage: int, outcome: str, by: str, reason: str | None = None) -> bool:
    fields = {"status": outcome, "decided_by": by, "decided_at": get_clock().now().isoformat()}
    if reason:
        fields["reason"] = reason
    return repo().move_stage(approval_id, stage, "open", fields)


def finalize(approval_id: str) -> Finalized:
    """Final status (when the stages left it pending), the budget and the leave booked, then every
    card, the applicant and the handover told (`notifier.outcome_of`); returns the event the state
    machine publishes. Each part is once-only, so a retried task repeats nothing."""
    from wecom_oa.approvals.models import Finalized
    from wecom_oa.budgets import service as budgets

    store = repo()
    a = store.get(approval_id)
    if a["status"] == "pending":
        decided = [st for _, st in _stages(a) if st["status"] in ("approved", "rejected")]
        rejected = [st for st in decided if st["status"] == "rejected"]
        last = rejected[0] if rejected else (decided[-1] if decided else {})
        try:
            a = store.update(approval_id, {"status": "rejected" if rejected else "approved",
                                           "decided_by": last.get("decided_by") or SYSTEM,
                                           "decided_at": get_clock().now().isoformat()},
                             condition="#s = :p", values={":p": "pending"}, names={"#s": "status"},
                             remove=("gsi1pk", "gsi1sk"))
        except Conflict:  # finished meanwhile (a retry of this task, a click's last decision)
            a = store.get(approval_id)
    if a["status"] not in ("approved", "rejected", "auto_rejected"):
        raise Conflict(f"approval {approval_id} is {a['status']}; it cannot be finalized")
    if a["status"] == "approved":
        budgets.consume_approved(a, budget_field(str(a["type"]), a.get("ruleset_version")))
        if a.get("channel", "default") != "wecom":  # WeCom moves its own quota for forms decided there
            from wecom_oa.approvals import leaves

            leaves.book_approved(a)
    from wecom_oa.approvals import notifier

    notifier.outcome_of(a)  # the cards, the applicant, the handover: the same task, the item already read
    detail = {k: a.get(k) for k in ("id", "type", "applicant", "status", "form", "ruleset_version",
                                    "matched_rows", "decided_by", "decided_at")}
    detail_type = "approval.approved" if a["status"] == "approved" else "approval.rejected"
    return Finalized.model_validate({"status": a["status"], "event": {
        "detail_type": detail_type, "detail": json.dumps(detail, ensure_ascii=False, default=str)}})


def fail(approval_id: str, error: dict[str, Any] | None) -> dict[str, str]:
    """Park the approval as failed (operators see it; the execution fails after this)."""
    err = error or {}
    try:
        repo().update(approval_id, {"status": "failed", "error": {"error": str(err.get("Error", ""))[:200],
                                                                   "cause": str(err.get("Cause", ""))[:1000]}},
                      condition="#s = :p", values={":p": "pending"}, names={"#s": "status"})
    except (Conflict, NotFound):
        logger.warning("approval not marked failed (already final or unknown)", extra={"approval_id": approval_id})
    logger.error("approval failed", extra={"approval_id": approval_id, "error": err.get("Error")})
    return {"status": "failed"}


# -- card clicks ----------------------------------------------------------------------------------

def stage_outcome(mode: str, round_approvers: list[str], decisions: dict[str, str]) -> str | None:
    """The stage's outcome from the decisions so far (userid → approved|rejected), None while open.
    any (或签): first approve or any reject; all (会签): everyone approved or first reject;
    sequential (依次): in order, any reject ends it."""
    if "rejected" in decisions.values():
        return "rejected"
    if mode == "any":
        return "approved" if "approved" in decisions.values() else None
    return "approved" if all(decisions.get(u) == "approved" for u in round_approvers) else None


def on_card_click(card: dict[str, Any], event: Any) -> None:
    """An approver clicked on a stage card (called by services.cards.on_click, with the click's
    response code: `approval_stage` keeps its own codes): 同意 decides at once; 驳回 first asks the
    reason (a select card, `on_reason_click`), the stage is rejected then."""
    from wecom_oa.wecom.cards import APPROVE, REJECT

    userid, code = event.from_user_name, event.response_code
    if event.event_key not in (APPROVE, REJECT):
        logger.warning("approval card click with an unknown key ignored",
                       extra={**_click_log(card, userid), "key": event.event_key})
        cards.remember_response_code(_task_id(card), userid, code)
        return
    if event.event_key == APPROVE:
        _decide_by_click(card, userid, "approved", response_code=code)
        return
    cards.remember_response_code(_task_id(card), userid, code)  # the decision comes with the reason card
    a = _clickable_stage(card, userid)
    if a is None:
        return
    _send_reason_card(a, card, userid)


def _task_id(card: dict[str, Any]) -> str:
    return str(card["pk"]).removeprefix("CARD#")


def _click_log(card: dict[str, Any], userid: str) -> dict[str, Any]:
    ref = card["ref"]
    return {"approval_id": ref["approval_id"], "stage": int(ref["stage"]), "userid": userid}


def _clickable_stage(card: dict[str, Any], userid: str, response_code: str | None = None) -> dict[str, Any] | None:
    """The approval when `userid` may still decide the card's stage; else None (a late click is
    answered, with `response_code` when the click brought one, a click from someone not (or not
    yet) in line is logged)."""
    ref, log = card["ref"], _click_log(card, userid)
    approval_id, stage, round_ = ref["approval_id"], int(ref["stage"]), int(ref["round"])
    a = repo().get(approval_id)
    st = dict(_stages(a))[stage]
    if st["status"] != "open" or int(st["round"]) != round_:
        logger.info("late approval click answered (stage decided or a new round started)", extra=log)
        from wecom_oa.approvals import notifier

        notifier.answer_late_click(a, _task_id(card), userid, st, code=response_code)
        return None
    if userid == a.get("applicant"):  # routes never make the applicant an approver; a stale card neither
        logger.warning("approval click by the applicant on their own request ignored", extra=log)
        return None
    if userid not in st["round_approvers"] or (st["mode"] == "sequential" and userid != _next_in_line(approval_id, st)):
        logger.warning("approval click from someone who is not the stage's approver ignored", extra=log)
        return None
    return a


def decide_on_web(approval_id: str, userid: str, decision: str, reason: str | None = None) -> bool:
    """An approver decides in the console: the same path as a click on their stage card (the same
    checks and the same conditional write), so a web decision and a card click at the same moment
    count once. False when there is nothing for `userid` to decide any more."""
    a = repo().get(approval_id)
    open_stage = next(((k, st) for k, st in _stages(a) if st.get("status") == "open"), None)
    if open_stage is None:
        return False
    stage, st = open_stage
    task_id = next((t for t, c in (a.get("cards") or {}).items()
                    if int(c["stage"]) == stage and int(c["round"]) == int(st["round"]) and userid in c["recipients"]),
                   None)
    card = cards.get_card(task_id) if task_id else None
    if card is None:
        return False
    return _decide_by_click(card, userid, decision, reason)


CLICK_ATTEMPTS = 5


def _decide_by_click(card: dict[str, Any], userid: str, decision: str, reason: str | None = None,
                     response_code: str | None = None) -> bool:
    """Record `userid`'s decision on the stage card `card` and decide the stage when it is due.
    True when this call recorded the decision. A concurrent decision on the same stage (another
    approver, the timeout, a web decision) makes the write fail; the approval is read again and the
    click re-judged, so nothing is decided twice and no decision is lost."""
    a = _clickable_stage(card, userid, response_code)
    for _ in range(CLICK_ATTEMPTS):
        if a is None:
            return False
        try:
            return _record_click(a, card, userid, decision, reason, response_code)
        except Conflict:
            card = cards.get_card(_task_id(card)) or card  # its wait may have armed meanwhile
        ref = card["ref"]
        now_a = repo().get(ref["approval_id"])
        st = now_a["stages"][str(ref["stage"])]
        if st["status"] in ("approved", "rejected") and int(st["round"]) == int(ref["round"]):
            # Decided by a concurrent click while this one was judged valid: it counts as a decision.
            return _record_raced_decision(now_a, card, userid, decision, reason, response_code)
        a = _clickable_stage(card, userid, response_code)
    raise Conflict(f"approval {card['ref']['approval_id']}: click not recorded (concurrent updates)")


def _record_raced_decision(a: dict[str, Any], card: dict[str, Any], userid: str, decision: str, reason: str | None,
                           response_code: str | None) -> bool:
    """A click that was valid when read, on a stage another click decided meanwhile: the decision is
    recorded (once), the stage is not decided again and its wait not resumed again; the clicker's
    card shows the outcome."""
    ref = card["ref"]
    approval_id, stage, round_ = ref["approval_id"], int(ref["stage"]), int(ref["round"])
    st = a["stages"][str(stage)]
    entry = {"userid": userid, "stage": stage, "round": round_, "decision": decision,
             "at": get_clock().now().isoformat(), **({"reason": reason} if reason else {})}
    table = app_table()
    operations: list[dict[str, Any]] = [
        {"put": {**Keys.approval_decision(approval_id, stage, userid), **entry}, "condition": "attribute_not_exists(pk)"}]
    if "decisions" in st:
        operations.append({"update": table.update_request(
            Keys.approval(approval_id), set_fields={("stages", str(stage), "decisions", userid): decision},
            condition="attribute_not_exists(#sg.#n.#d.#u)",
            condition_names={"#sg": "stages", "#n": str(stage), "#d": "decisions", "#u": userid})})
    try:
        repo().record_click(operations)
    except Conflict:
        logger.info("second click by the same approver ignored", extra=_click_log(card, userid))
        return False
    logger.info("decision recorded; a concurrent click decided the stage first", extra=_click_log(card, userid))
    if response_code:
        from wecom_oa.approvals import notifier

        try:
            notifier.show_decision(a, _task_id(card), [userid], {userid: response_code}, st["status"],
                                   st.get("decided_by") or SYSTEM)
        except OAError:
            logger.warning("raced click's card not updated", extra=_click_log(card, userid))
    return True


def _record_click(a: dict[str, Any], card: dict[str, Any], userid: str, decision: str, reason: str | None,
                  response_code: str | None) -> bool:
    """One transaction: the approver's decision item, the decision in the stage state and, when the
    stage is decided by it, the stage's outcome, the next stage opened (its card registered) or the
    approval's final status, and the clicked card closed with the response codes it uses. Raises
    Conflict when the approval or the card moved since they were read. Then (decided) the wait
    resumes, the decided card shows the decision and the next stage's card goes out."""
    from wecom_oa.approvals.models import StageStep

    ref, log = card["ref"], _click_log(card, userid)
    approval_id, stage, round_ = ref["approval_id"], int(ref["stage"]), int(ref["round"])
    st = a["stages"][str(stage)]
    known = stage_decisions(approval_id, st)
    if userid in known:
        logger.info("second click by the same approver ignored", extra=log)
        return False
    decisions = {**known, userid: decision}
    outcome = stage_outcome(st["mode"], st["round_approvers"], decisions)
    now = get_clock().now().isoformat()
    entry = {"userid": userid, "stage": stage, "round": round_, "decision": decision, "at": now}
    if reason:
        entry["reason"] = reason
    key = str(stage)
    names = {"#sg": "stages", "#n": key, "#st": "status", "#r": "round", "#d": "decisions"}
    values: dict[str, Any] = {":open": "open", ":r": round_}
    condition = "#sg.#n.#st = :open AND #sg.#n.#r = :r"
    fields: dict[Any, Any] = {}
    remove: tuple[str, ...] = ()
    if "decisions" in st:  # nobody else decided since the read: else the outcome could be missed
        for i, u in enumerate(u for u in [userid, *st["round_approvers"]] if u not in known):
            names[f"#u{i}"] = u
            condition += f" AND attribute_not_exists(#sg.#n.#d.#u{i})"
        fields[("stages", key, "decisions", userid)] = decision
    else:
        condition += " AND attribute_not_exists(#sg.#n.#d)"
        fields[("stages", key, "decisions")] = decisions
    task_id = _task_id(card)
    opening, round_cards = None, []
    if outcome is not None:
        fields.update({("stages", key, "status"): outcome, ("stages", key, "decided_by"): userid,
                       ("stages", key, "decided_at"): now})
        if outcome == "rejected" and reason:
            fields[("stages", key, "reason")] = reason
        round_cards = [t for t, c in (a.get("cards") or {}).items()
                       if int(c["stage"]) == stage and int(c["round"]) == round_]
        fields.update({("cards", t, "closed"): outcome for t in round_cards})
        opening = _opening(a, stage) if outcome == "approved" else None
        if opening is None:  # the last stage, or a rejection: the approval's final status
            from wecom_oa.approvals.store import list_partition

            # the status list (gsi3) moves with the status, as in every other write of it (store.update)
            fields.update({"status": outcome, "decided_by": userid, "decided_at": now,
                           "gsi3pk": list_partition("STATUS", outcome)})
            remove = ("gsi1pk", "gsi1sk")
            names["#s"] = "status"
            values[":pending"] = "pending"
            condition += " AND #s = :pending"
        else:
            index, nxt, opened, remove = opening
            recipients = list(nxt["round_approvers"][:1] if nxt["mode"] == "sequential" else nxt["round_approvers"])
            next_task = f"{approval_id}-{index}-1-0"
            fields.update({"current_stage": index, **opened,
                           ("cards", next_task): {"stage": index, "round": 1, "recipients": recipients}})
    table = app_table()
    operations: list[dict[str, Any]] = [
        {"put": {**Keys.approval_decision(approval_id, stage, userid), **entry}, "condition": "attribute_not_exists(pk)"},
        {"update": table.update_request(Keys.approval(approval_id), set_fields=fields, remove_fields=remove,
                                        condition=condition, condition_values=values, condition_names=names)},
    ]
    codes = cards.fresh_codes(card)
    if outcome is not None:
        # The click's own code and the stored ones are used now; the card's final update is this one.
        card_condition = None if card.get("task_token") else "attribute_not_exists(task_token)"
        operations.append({"update": table.update_request(
            Keys.card_task(task_id), set_fields={"status": "closed", "outcome": outcome, "final_update_at": now},
            remove_fields=[("response_codes", u) for u in (card.get("response_codes") or {})],
            condition=card_condition)})
    if opening is not None:
        operations.append({"put": cards.card_item(next_task, "approval_stage", recipients=recipients,
                                                  ref={"approval_id": approval_id, "stage": index, "round": 1}),
                           "condition": "attribute_not_exists(pk)"})
    repo().record_click(operations)
    if outcome is None:
        if response_code:  # kept for the card's final update when the stage is decided
            cards.remember_response_code(task_id, userid, response_code)
        if st["mode"] == "sequential":
            from wecom_oa.approvals import notifier

            token = card.get("task_token") or (cards.get_card(task_id) or {}).get("task_token")
            nxt = _next_in_line(approval_id, {**st, "decisions": decisions})
            notifier.send_stage_card(approval_id, stage, round_, token, [nxt] if nxt else [], a=a)
        return True
    step = (_step({**opening[1], "round": 1}) if opening is not None
            else StageStep(done=True, stage=stage, round=round_, timeout_seconds=MIN_TIMEOUT, next="finish"))
    output = {"outcome": outcome, "by": userid, **step.model_dump(), "card": next_task if opening else None}
    if card.get("task_token"):
        _send_task_success(card["task_token"], output, log)
    else:  # decided before the card's wait was armed: arming it finds the card closed and resumes
        logger.info("stage decided before its wait was armed", extra=log)
    from wecom_oa.approvals import notifier

    if response_code:
        codes[userid] = response_code
    decided = {**a, "decided_at": now} if opening is None else a
    try:
        notifier.show_decision(decided, task_id, card.get("recipients") or [], codes, outcome, userid)
        for other in round_cards:
            if other != task_id:  # another card of the round (sequential): closed the usual way
                cards.close_card(other, outcome)
                notifier.close_card_for(decided, other, outcome, userid)
    except OAError:  # the decision stands; a transient failure was queued by the sender, this one is logged
        logger.exception("stage cards not updated", extra=log)
    if opening is not None:
        try:
            notifier.send_registered_stage_card(a, opening[0], 1, next_task, recipients)
        except OAError:  # the stage's timeout re-sends its cards (a reminder round)
            logger.exception("next stage's card not sent", extra={**log, "next_stage": opening[0]})
    return True


def _send_reason_card(a: dict[str, Any], stage_card: dict[str, Any], userid: str) -> None:
    """The select card of configured reasons (cards.yaml `reject_reason`) to the approver."""
    from wecom_oa.approvals import notifier
    from wecom_oa.wecom.cards import new_task_id

    task_id = new_task_id("rsn")
    cards.register_card(task_id, "approval_reason", recipients=[userid],
                        ref={"stage_task_id": stage_card["pk"].removeprefix("CARD#"), "approval_id": a["id"]})
    card = notifier.builder().reject_reason_card(task_id=task_id, type_name=type_name(a["type"]),
                                                 applicant_name=notifier.display_name(a["applicant"]),
                                                 approval_id=a["id"])
    wiring.sender().send_template_card(card, touser=[userid])


def on_reason_click(card: dict[str, Any], event: Any) -> None:
    """确认驳回 on the reason card: a configured reason rejects the stage with it; 其他 asks for
    the approver's own words (a follow-up answered in the chat)."""
    from wecom_oa.approvals import notifier
    from wecom_oa.messaging import followups
    from wecom_oa.wecom.cards import OTHER_REASON, REASON_QUESTION, REJECT_SUBMIT

    userid = event.from_user_name
    if event.event_key != REJECT_SUBMIT:
        logger.warning("reason card click with an unknown key ignored", extra={"key": event.event_key})
        return
    chosen = next((i.option_ids[0] for i in event.selected_items
                   if i.question_key == REASON_QUESTION and i.option_ids), OTHER_REASON)
    stage_card = cards.get_card(card["ref"]["stage_task_id"])
    if stage_card is None:
        return
    reason = notifier.builder().reject_reason_text(chosen)
    if reason is None:
        a = repo().get(card["ref"]["approval_id"])
        followups.ask(userid, "approval_reject", {"stage_task_id": card["ref"]["stage_task_id"]},
                      texts().text("messages", "reject_reason_prompt", type_name=type_name(a["type"]),
                                   approval_id=a["id"], applicant_name=notifier.display_name(a["applicant"])))
        return
    _decide_by_click(stage_card, userid, "rejected", reason)
    _grey_out(card, userid)


def on_reject_followup(question: dict[str, Any], text: str, _key: str) -> None:
    """The approver's own words for 其他: the stage is rejected with them."""
    stage_card = cards.get_card(question["ref"]["stage_task_id"])
    if stage_card is not None and text:
        _decide_by_click(stage_card, question["pk"].removeprefix("FOLLOWUP#"), "rejected", text[:200])


def _grey_out(card: dict[str, Any], userid: str) -> None:
    from wecom_oa.approvals import notifier

    code = cards.take_response_code(card["pk"].removeprefix("CARD#"), userid)
    if code is None:
        return
    try:
        wiring.sender().update_template_card(code, userids=[userid],
                                             replace_name=notifier.builder().final_button_text("rejected"))
    except OAError:  # cosmetic: the decision is stored
        logger.warning("reason card not updated", extra={"userid": userid})


def stage_states(a: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(stage number, state) of every stage of the approval item, in order."""
    return list(_stages(a))


def _next_in_line(approval_id: str, st: dict[str, Any]) -> str | None:
    pending = _pending_approvers(approval_id, st)
    return pending[0] if pending else None


def _close_round_cards(a: dict[str, Any], stage: int, round_: int, outcome: str) -> None:
    for task_id, info in (a.get("cards") or {}).items():
        if int(info["stage"]) == stage and int(info["round"]) == round_:
            cards.close_card(task_id, outcome)


def _send_task_success(token: str, output: dict[str, Any], log: dict[str, Any]) -> None:
    from botocore.exceptions import ClientError

    try:
        wiring.aws("stepfunctions").send_task_success(taskToken=token, output=json.dumps(output))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code not in LATE_TOKEN_ERRORS:
            raise
        logger.info("stage decided after its wait ended; token no longer valid", extra={**log, "code": code})


# -- native WeCom approvals (审批应用) ---------------------------------------------------------------

@lru_cache(maxsize=4)
def _native_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    import yaml

    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("templates") or {}


SP_IN_REVIEW, SP_APPROVED, SP_REJECTED = 1, 2, 3  # form SpStatus (PROTOCOL.md §2.4)
SP_WITHDRAWN, SP_REVOKED, SP_DELETED = 4, 6, 7  # 已撤销, 通过后撤销, 已删除
EVENT_SUBMITTED = 1  # StatuChangeEvent 提单
# oa/applyevent process.node_list apv_rel: 1 会签 (all), 2 或签 (any). A sequential stage becomes one
# node per approver, in order, so it needs no WeCom 依次 mode.
APV_REL = {"any": 2, "all": 1}
NODE_APPROVAL = 1


def native_templates() -> dict[str, Any]:
    """config/wecom_approvals.yaml `templates`: template_id → {type, fields {control id: form field}}."""
    from wecom_oa.settings import get_settings

    return _native_config(get_settings().config_dir / "wecom_approvals.yaml")


def _native_template(approval_type: str) -> str:
    """The WeCom template an approval of this type is submitted with (channel wecom)."""
    for template_id, mapping in native_templates().items():
        if mapping.get("type") == approval_type:
            return str(template_id)
    raise InvalidInput(f"channel: no WeCom approval template is configured for type {approval_type!r}",
                       details=[{"field": "channel", "problem": "add the type to config/wecom_approvals.yaml"}])


def native_process(route: list[rules.ResolvedStage]) -> dict[str, Any]:
    """oa/applyevent `process` for the computed route (skipped and empty stages are left out)."""
    nodes: list[dict[str, Any]] = []
    for stage in route:
        if stage.skipped or not stage.approvers:
            continue
        if stage.mode == "sequential":
            nodes.extend({"type": NODE_APPROVAL, "apv_rel": APV_REL["all"], "userid": [u]} for u in stage.approvers)
        else:
            nodes.append({"type": NODE_APPROVAL, "apv_rel": APV_REL.get(stage.mode, APV_REL["all"]),
                          "userid": list(stage.approvers)})
    return {"node_list": nodes}


def native_contents(fields: dict[str, str], form: dict[str, Any], names: dict[str, str],
                    leave_unit: Any = None) -> list[dict[str, Any]]:
    """apply_data.contents from form values, the inverse of `native_form`. A control's type is the
    prefix of its id (WeCom ids read `<Control>-<number>`); `names` are display names of userids."""
    contents = []
    for control_id, name in fields.items():
        control = control_id.split("-", 1)[0]
        if control == "Vacation":
            value = _vacation_value(form, leave_unit) if form.get("leave_type") else None
        else:
            value = _control_value(control, form.get(name), names)
        if value is not None:
            contents.append({"control": control, "id": control_id, "value": value})
    return contents


def _control_value(control: str, value: Any, names: dict[str, str]) -> dict[str, Any] | None:
    if value in (None, "", []):
        return None
    if control == "Contact":
        users = value if isinstance(value, list) else [value]
        return {"members": [{"userid": u, "name": names.get(u, u)} for u in users]}
    if control == "Money":
        return {"new_money": str(value)}
    if control == "Number":
        return {"new_number": str(value)}
    return {"text": str(value)}


def _vacation_value(form: dict[str, Any], unit: Any = None) -> dict[str, Any]:
    """The Vacation control; `unit` is the leave type's VacationConfig (oa/vacation/getcorpconf): an
    hourly type (time_attr 1) takes an `hour` range whose duration counts its own day (e.g. 8 h)."""
    from datetime import UTC, datetime, time

    from wecom_oa.approvals.prechecks import default_templates

    def stamp(day: Any) -> int:
        return int(datetime.combine(datetime.fromisoformat(str(day)).date(), time(), UTC).timestamp())

    name = default_templates().leave_type_name(str(form["leave_type"]))
    hourly = unit is not None and unit.time_attr == 1
    per_day = Decimal(unit.seconds_per_day) if unit is not None else SECONDS_PER_DAY
    duration = int(Decimal(str(form.get("days") or 0)) * per_day)
    return {"vacation": {
        "selector": {"type": "single", "options": [{"key": name, "value": [{"text": name, "lang": "zh_CN"}]}]},
        "attendance": {"date_range": {"type": "hour" if hourly else "halfday", "new_begin": stamp(form["start"]),
                                      "new_end": stamp(form["end"]), "new_duration": duration}, "type": 1}}}


def _leave_unit(form: dict[str, Any]) -> Any:
    """The VacationConfig of the form's leave type, or None (unknown type, or no 假期 permission:
    day-based figures are the best we have)."""
    if not form.get("leave_type"):
        return None
    from wecom_oa.approvals.prechecks import default_templates

    name = default_templates().leave_type_name(str(form["leave_type"]))
    try:
        return next((c for c in wiring.wecom_client().oa_get_vacation_config() if c.name == name), None)
    except OAError as exc:
        logger.warning("vacation config unavailable; leave submitted in 24 h days", extra={"problem": exc.message})
        return None


def native_apply_body(template_id: str, item: dict[str, Any], route: list[rules.ResolvedStage],
                      names: dict[str, str], leave_unit: Any = None) -> dict[str, Any]:
    """The oa/applyevent body for a stored approval item (our route, not the template's flow)."""
    fields = native_templates()[template_id].get("fields") or {}
    summary = [type_name(item["type"]), item.get("reason") or ""]
    contents = native_contents(fields, item["form"], names, leave_unit)
    return {"creator_userid": item["applicant"], "template_id": template_id, "use_template_approver": 0,
            "process": native_process(route), "apply_data": {"contents": contents},
            "summary_list": [{"summary_info": [{"text": t, "lang": "zh_CN"}]} for t in summary if t]}


def _names(userids: list[str]) -> dict[str, str]:
    directory, out = wiring.directory(), {}
    for u in userids:
        try:
            out[u] = directory.user(u).name
        except OAError:
            out[u] = u
    return out


def _submit_native(item: dict[str, Any], template_id: str, route: list[rules.ResolvedStage]) -> None:
    """Submit the WeCom form, then link sp_no ↔ approval. A failed submit parks the approval as failed."""
    handover = item["form"].get("handover_to") or []
    body = native_apply_body(template_id, item, route, _names(handover if isinstance(handover, list) else [handover]),
                             _leave_unit(item["form"]))
    try:
        sp_no = wiring.wecom_client().oa_apply_event(body)
    except OAError as exc:
        fail(item["id"], {"Error": exc.code, "Cause": exc.message})
        raise
    app_table().update(Keys.approval(f"wecom-{sp_no}"), must_exist=False, set_fields={
        "id": f"wecom-{sp_no}", "source": "wecom", "sp_no": sp_no, "template_id": template_id,
        "approval_id": item["id"]})
    repo().update(item["id"], {"sp_no": sp_no})
    logger.info("approval submitted into WeCom", extra={"approval_id": item["id"], "sp_no": sp_no})


def on_wecom_approval_change(event: Any) -> None:
    """Record a native approval change. For a form we submitted (channel wecom) the change decides
    that approval (see `_on_linked_change`). Otherwise: on submission run the pre-checks and message
    the findings to approvers and applicant; on final approval publish `approval.approved` and send
    handover reminders (once per sp_no: conditional write)."""
    from wecom_oa.budgets import service as budgets

    info = event.approval
    sp_no, applicant = info.sp_no, info.applyer.user_id
    record = app_table().update(Keys.approval(f"wecom-{sp_no}"), must_exist=False, set_fields={
        "id": f"wecom-{sp_no}", "source": "wecom", "sp_no": sp_no, "sp_status": info.sp_status,
        "template_id": info.template_id, "applicant": applicant, "last_change": info.statu_change_event})
    if record.get("approval_id"):
        _on_linked_change(str(record["approval_id"]), event)
        return
    mapping = native_templates().get(info.template_id)
    if mapping is None:
        return
    form: dict[str, Any] | None = None
    if info.statu_change_event == EVENT_SUBMITTED or event.approved:
        detail = wiring.wecom_client().oa_get_approval_detail(sp_no)
        form = native_form(detail.apply_data, mapping.get("fields") or {})
    _track_native_open(sp_no, mapping["type"], applicant, info, form)
    if info.statu_change_event == EVENT_SUBMITTED:
        _native_prechecks(sp_no, mapping["type"], applicant, form, info)
    if event.approved:
        budgets.consume_approved({"id": f"wecom-{sp_no}", "type": mapping["type"], "applicant": applicant,
                                  "form": form}, budget_field(mapping["type"]))
    if info.sp_status == SP_REVOKED:
        budgets.give_back(f"wecom-{sp_no}")
    if event.approved and _claim_post_actions(sp_no):
        item = {"id": f"wecom-{sp_no}", "type": mapping["type"], "applicant": applicant, "form": form,
                "status": "approved", "sp_no": sp_no}
        _publish("approval.approved", item)
        from wecom_oa.approvals import notifier

        notifier.send_handover(item)
        notifier.start_workflows(item)
    if info.sp_status == SP_REVOKED and record.get("post_actions_at") and _claim(sp_no, "revoked_at"):
        # Revoked after we announced the approval: attendance and rota undo it, the handover is off.
        detail = wiring.wecom_client().oa_get_approval_detail(sp_no)
        item = {"id": f"wecom-{sp_no}", "type": mapping["type"], "applicant": applicant, "status": "revoked",
                "form": native_form(detail.apply_data, mapping.get("fields") or {}), "sp_no": sp_no}
        _publish("approval.revoked", item)
        from wecom_oa.approvals import notifier

        notifier.send_handover_cancelled(item)


def _track_native_open(sp_no: str, approval_type: str, applicant: str, info: Any,
                       form: dict[str, Any] | None) -> None:
    """Keep a native form of a configured template in the open index while it is in review, with
    its project group and the approvers of the current node, so the group summaries list it like
    our own approvals; a final status takes it out for good (a late in-review callback cannot put it
    back: `closed_at`)."""
    key = Keys.approval(f"wecom-{sp_no}")
    if info.is_final:
        app_table().update(key, set_fields={"closed_at": get_clock().now().isoformat()},
                           remove_fields=("gsi1pk", "gsi1sk", "current_approver", "owner_name"))
        return
    directory = wiring.directory()
    try:
        user = directory.user(applicant)
    except OAError:
        return  # an applicant the app cannot see has no project group
    group = project_group(user.department)
    if group is None:
        return
    applied = datetime.fromtimestamp(info.apply_time or 0, UTC) if info.apply_time else get_clock().now()
    fields: dict[str, Any] = {"type": approval_type, "applicant_name": user.name, "group": group,
                              **_wecom_node_owner(info),
                              **Keys.open_index(OPEN_KIND, None, utc_iso(applied), f"wecom-{sp_no}")}
    if form is not None:
        fields["form"] = form
    try:
        app_table().update(key, set_fields=fields, condition="attribute_not_exists(closed_at)")
    except Conflict:
        logger.info("native approval already final; in-review change ignored", extra={"sp_no": sp_no})


def _wecom_node_owner(info: Any) -> dict[str, str]:
    """`current_approver` and `owner_name` of a WeCom form's current node (approvers yet to act)."""
    node = next((r for r in info.sp_record if r.sp_status == SP_IN_REVIEW), None)
    waiting = [d.approver_user_id for d in (node.details if node else [])
               if d.sp_status == SP_IN_REVIEW and d.approver_user_id]
    if not waiting:
        return {}
    names = _names(waiting)
    return {"current_approver": waiting[0], "owner_name": "、".join(names[u] for u in waiting)}


def _on_linked_change(approval_id: str, event: Any) -> None:
    """A change of a form `submit` put into WeCom: on submission the stored pre-check findings go to
    approvers and applicant; a final approve/reject decides the approval once, then publishes
    `approval.approved|rejected` (same detail as `finalize`) and, when approved, the handover to-dos."""
    from wecom_oa.budgets import service as budgets

    info = event.approval
    a = repo().get(approval_id)
    if info.statu_change_event == EVENT_SUBMITTED and a.get("findings"):
        _send_precheck_notes(a["type"], info, a["applicant"], a["findings"])
    if info.sp_status in (SP_WITHDRAWN, SP_DELETED):
        _withdraw_linked(approval_id, info)
        return
    if info.sp_status == SP_IN_REVIEW and (waiting := _wecom_node_owner(info)):
        # WeCom runs the stages of a form we submitted: the summaries show whom it waits on now
        try:
            repo().update(approval_id, waiting, condition="#s = :p", values={":p": "pending"}, names={"#s": "status"})
        except Conflict:
            return  # already final: a late in-review callback changes nothing
    if info.sp_status == SP_REVOKED:
        _revoke_linked(approval_id, info)
        return
    if info.sp_status not in (SP_APPROVED, SP_REJECTED):
        return
    status = "approved" if info.sp_status == SP_APPROVED else "rejected"
    repo().finish(approval_id, status, {"decided_by": _last_actor(info) or SYSTEM,
                                        "decided_at": get_clock().now().isoformat()})
    a = repo().get(approval_id)
    if a["status"] != status:
        logger.warning("WeCom decision ignored: the approval is already final",
                       extra={"approval_id": approval_id, "status": a["status"], "sp_status": info.sp_status})
        return
    if status == "approved":
        budgets.consume_approved(a, budget_field(str(a["type"]), a.get("ruleset_version")))
    if not _claim_post_actions(info.sp_no):
        return
    _publish(f"approval.{status}", {k: a.get(k) for k in _EVENT_FIELDS})
    if status == "approved":
        from wecom_oa.approvals import notifier

        notifier.send_handover(a)
        notifier.start_workflows(a)


_EVENT_FIELDS = ("id", "type", "applicant", "status", "form", "ruleset_version", "matched_rows", "decided_by",
                 "decided_at", "sp_no")


def _withdraw_linked(approval_id: str, info: Any) -> None:
    """Withdrawn by the applicant (or deleted) before a decision: final `withdrawn`, one event."""
    now = get_clock().now().isoformat()
    if not repo().finish(approval_id, "withdrawn", {"withdrawn_at": now, "sp_status": info.sp_status}):
        return
    a = repo().get(approval_id)
    _publish("approval.withdrawn", {k: a.get(k) for k in _EVENT_FIELDS})


def _revoke_linked(approval_id: str, info: Any) -> None:
    """Revoked after approval (通过后撤销): `approved` → `revoked` once; `approval.revoked` tells
    attendance and rota to undo, and the handover colleagues learn the to-do is off. A form whose
    approval we never saw (still pending here) just ends as `revoked`: nobody was told it was approved."""
    from wecom_oa.budgets import service as budgets

    now = get_clock().now().isoformat()
    revoked = repo().revoke(approval_id, {"revoked_at": now})
    budgets.give_back(approval_id)  # once; also completes a give-back a failed delivery left undone
    if not revoked:
        if repo().finish(approval_id, "revoked", {"revoked_at": now, "sp_status": info.sp_status}):
            logger.info("WeCom form revoked before its approval reached us", extra={"approval_id": approval_id})
        return
    a = repo().get(approval_id)
    _publish("approval.revoked", {k: a.get(k) for k in _EVENT_FIELDS})
    from wecom_oa.approvals import notifier

    notifier.send_handover_cancelled(a)


def _last_actor(info: Any) -> str | None:
    acted = [d for r in info.sp_record for d in r.details if d.sp_time and d.sp_status in (SP_APPROVED, SP_REJECTED)]
    return max(acted, key=lambda d: d.sp_time).approver_user_id if acted else None


def _claim_post_actions(sp_no: str) -> bool:
    """True for the one caller that runs an sp_no's post actions (however often WeCom re-delivers)."""
    return _claim(sp_no, "post_actions_at")


def _claim(sp_no: str, attribute: str) -> bool:
    """True for the one caller that sets `attribute` on the sp_no's record (a once-only action)."""
    try:
        app_table().update(Keys.approval(f"wecom-{sp_no}"), set_fields={attribute: get_clock().now().isoformat()},
                           condition="attribute_not_exists(#a)", condition_names={"#a": attribute})
    except Conflict:
        return False
    return True


def _publish(detail_type: str, detail: dict[str, Any]) -> None:
    from wecom_oa.settings import get_settings

    wiring.aws("events").put_events(Entries=[{
        "EventBusName": get_settings().event_bus_name, "Source": "wecom-oa", "DetailType": detail_type,
        "Detail": json.dumps(detail, ensure_ascii=False, default=str)}])


def _native_prechecks(sp_no: str, approval_type: str, applicant: str, form: dict[str, Any], info: Any) -> None:
    from wecom_oa.approvals.models import CreateApproval

    try:
        decision = evaluate_request(CreateApproval(type=approval_type, applicant=applicant, form=form), sp_no)
    except InvalidInput as exc:
        logger.warning("native approval form does not fit its rule set", extra={"sp_no": sp_no, "problem": exc.message})
        return
    if decision.findings:
        _send_precheck_notes(approval_type, info, applicant, [f.model_dump(mode="json") for f in decision.findings])


def _send_precheck_notes(approval_type: str, info: Any, applicant: str, findings: list[dict[str, Any]]) -> None:
    approvers = [d.approver_user_id for r in info.sp_record for d in r.details if d.approver_user_id]
    content = texts().text("messages", "precheck_notes", type_name=type_name(approval_type), sp_no=info.sp_no,
                           findings="\n".join(f"· {f['message']} {f.get('suggestion') or ''}".rstrip()
                                              for f in findings))
    wiring.sender().send_text(content, touser=list(dict.fromkeys([*approvers, applicant])),
                              duplicate_check=True)


def native_form(apply_data: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """Form values from a native approval's controls, by control id (see config/wecom_approvals.yaml)."""
    form: dict[str, Any] = {}
    for content in apply_data.get("contents") or []:
        name = fields.get(content.get("id", ""))
        if name is None:
            continue
        value = content.get("value") or {}
        control = content.get("control")
        if control == "Vacation":
            form.update(_vacation(value))
        elif control == "Contact":
            form[name] = [m.get("userid") for m in value.get("members") or []]
        elif control == "Money":
            form[name] = value.get("new_money")
        elif control == "Number":
            form[name] = value.get("new_number")
        else:
            form[name] = value.get("text")
    return form


def _vacation(value: dict[str, Any]) -> dict[str, Any]:
    from datetime import UTC, datetime

    from wecom_oa.approvals import rules
    from wecom_oa.approvals.prechecks import default_templates

    vac = value.get("vacation") or {}
    options = ((vac.get("selector") or {}).get("options") or [{}])[0]
    name = next((v.get("text") for v in options.get("value") or [] if v.get("text")), "")
    by_name = {default_templates().leave_type_name(t): t for t in typing.get_args(rules.LeaveType)}
    span = (vac.get("attendance") or {}).get("date_range") or {}
    day = lambda ts: datetime.fromtimestamp(int(ts or 0), UTC).date().isoformat()  # noqa: E731
    per_day = Decimal(int(span.get("perday_duration") or 0)) or SECONDS_PER_DAY  # hourly types send theirs
    return {"leave_type": by_name.get(name, "other"), "start": day(span.get("new_begin")),
            "end": day(span.get("new_end")), "days": Decimal(int(span.get("new_duration") or 0)) / per_day}


def reconcile() -> dict[str, int]:
    """Schedule `approval-reconcile`: feed approvals whose callbacks were missed (see services.reconcile)."""
    from wecom_oa.approvals.reconcile import reconcile_approvals

    return reconcile_approvals()


def budget_field(approval_type: str, version: Any = None) -> str | None:
    """The amount field of the budget check in the approval's rule set version (the active one
    when that version is no longer kept, or for native forms); None without a budget check."""
    from wecom_oa.budgets import service as budgets

    try:
        ruleset = registry().active(approval_type)
        if version and ruleset.version != int(version):
            ruleset = registry().get(approval_type, int(version))
    except NotFound:
        return None
    except ConfigurationError:
        pass  # that version is not kept: the active rule set's check stands in
    checks = [c for c in ruleset.prechecks if c.check == budgets.BUDGET_CHECK]
    return str(checks[0].params.get("field", "amount")) if checks else None
