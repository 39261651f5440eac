"""What each console page shows, read through the features' public functions and filtered by the
viewer's data scope (`scopes.Scope`). Pure data: the templates (templates/console/*.html) render it.

Lists read the open indexes (open tickets by team, pending approvals, a month's notices), never the
history; an item outside the viewer's scope is left out of lists and answers 404 on its own page.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from wecom_oa import wiring
from wecom_oa.clock import get_clock
from wecom_oa.console.scopes import Scope
from wecom_oa.errors import NotFound, OAError
from wecom_oa.people import display_name as name_of
from wecom_oa.settings import get_settings


def preload_names(userids: Iterable[str]) -> None:
    """Fill the directory cache for many people at once (one user/list instead of a user/get each):
    a 6000-store notice's names."""
    preload = getattr(wiring.directory(), "preload", None)
    if preload is not None:
        preload(list(userids))


def local_time(value: str | datetime | None) -> str:
    """An instant as people read it: company time, minutes."""
    if not value:
        return ""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return when.astimezone(ZoneInfo(get_settings().default_timezone)).strftime("%Y-%m-%d %H:%M")


def paginate(rows: list[Any], page: int, size: int) -> dict[str, Any]:
    pages = max(1, -(-len(rows) // size))
    page = min(max(1, page), pages)
    return {"rows": rows[(page - 1) * size:page * size], "page": page, "pages": pages, "total": len(rows)}


# ------------------------------------------------------------------------------ tickets
def _ticket_people(t: Mapping[str, Any], catalog: Any) -> list[str | None]:
    """Who a ticket involves: reporter, assignee, CC, and its team's dispatchers and backup (they
    see a new ticket before anyone accepts it)."""
    team = next((x for x in catalog.teams if x.key == t.get("team")), None)
    crew = [*team.dispatchers, *team.backup] if team else []
    return [t.get("reporter"), t.get("assignee"), *(t.get("cc") or ()), *crew]


_CURSOR_SCOPE = "console|tickets"


def _cursor(team: int, key: Mapping[str, str] | None) -> str:
    from wecom_oa.paging import pack

    return pack({**(key or {}), "~t": str(team)}, _CURSOR_SCOPE)


def _uncursor(cursor: str | None, teams: int) -> tuple[int, dict[str, str] | None]:
    """(team index, index key) a `_cursor` made; the first page for anything else."""
    from wecom_oa.errors import InvalidInput
    from wecom_oa.paging import unpack

    if not cursor:
        return 0, None
    try:
        key = unpack(cursor, _CURSOR_SCOPE)
    except InvalidInput:
        return 0, None
    team = key.pop("~t", "")
    if not team.isdigit() or not 0 <= int(team) < teams:
        return 0, None
    return int(team), key or None


def ticket_list(scope: Scope, *, team: str | None, status: str | None, priority: str | None,
                assignee: str | None, overdue: bool, cursor: str | None, size: int) -> dict[str, Any]:
    """工单中心: the open tickets of the viewer's scope, team by team and earliest deadline first
    within a team, `size` rows a page. Pages are read from the open index a page at a time and the
    cursor is the index key of the last row shown, so an unfiltered page reads about the rows it
    shows; rows outside the scope or the filters are read and skipped."""
    from wecom_oa.tickets import service as tickets

    catalog = tickets.catalog()
    teams = [t for t in catalog.teams if team in (None, "", t.key)]
    now = get_clock().now()
    rows: list[dict[str, Any]] = []
    index, start = _uncursor(cursor, len(teams))
    next_cursor = None
    while index < len(teams) and next_cursor is None:
        t = teams[index]
        page, last = tickets.open_page(t.key, start, size + 1)
        for item, key in page:
            if not _wanted(scope, catalog, item, status, priority, assignee, overdue, now):
                continue
            if len(rows) == size:  # one more than fits: the next page starts after the last shown
                next_cursor = _cursor(rows[-1]["_team"], rows[-1]["_key"])
                break
            rows.append({**_ticket_row(item, key, t, catalog, now), "_team": index})
        else:
            if last is None:
                index, start = index + 1, None
            else:
                start = last
            continue
    for r in rows:
        r.pop("_key", None)
        r.pop("_team", None)
    return {"filters": {"team": team or "", "status": status or "", "priority": priority or "",
                        "assignee": assignee or "", "overdue": overdue},
            "teams": [{"key": t.key, "label": t.label} for t in catalog.teams],
            "statuses": [{"key": k.value, "label": v} for k, v in catalog.status_labels.items()
                         if k.value in ("new", "in_progress", "waiting_customer")],
            "priorities": [{"key": k.value, "label": v} for k, v in catalog.priority_labels.items()],
            "rows": rows, "next_cursor": next_cursor, "first_page": not cursor}


def _wanted(scope: Scope, catalog: Any, item: Mapping[str, Any], status: str | None, priority: str | None,
            assignee: str | None, overdue: bool, now: datetime) -> bool:
    if not scope.sees(_ticket_people(item, catalog)):
        return False
    if status and item["status"] != status or priority and item["priority"] != priority:
        return False
    if assignee and item.get("assignee") != assignee:
        return False
    due = item.get("next_due")
    return not overdue or bool(due and datetime.fromisoformat(due) < now)


def _ticket_row(item: dict[str, Any], key: dict[str, str], team: Any, catalog: Any, now: datetime) -> dict[str, Any]:
    due = item.get("next_due")
    return {**item, "_key": key, "overdue": bool(due and datetime.fromisoformat(due) < now), "team_label": team.label,
            "status_label": catalog.status_labels.get(item["status"], item["status"]),
            "priority_label": catalog.priority_labels.get(item["priority"], item["priority"]),
            "assignee_name": name_of(item.get("assignee")), "reporter_name": name_of(item["reporter"]),
            "due": local_time(due)}


def require_ticket(scope: Scope, ticket_id: str) -> None:
    """NotFound unless the viewer may see the ticket (its item only: no history, no SLA)."""
    from wecom_oa.tickets import service as tickets

    catalog = tickets.catalog()
    scope.require(_ticket_people(tickets.view(ticket_id, with_history=False), catalog), f"ticket {ticket_id}")


def ticket_detail(scope: Scope, ticket_id: str) -> dict[str, Any]:
    """A ticket with its history, SLA clocks, dwell times and the actions its status allows."""
    from wecom_oa.tickets import service as tickets
    from wecom_oa.tickets.domain import TRANSITIONS, Status

    t = tickets.view(ticket_id)
    catalog = tickets.catalog()
    scope.require(_ticket_people(t, catalog), f"ticket {ticket_id}")
    template = catalog.template_for(t["type"])
    status = Status(t["status"])
    labels = {s.key: s.label for s in template.stages}
    fields = {f.key: f for f in template.fields}
    # The actions the status allows (escalating is the timer's) and the fields each will ask for
    # (智能必填): required at the status it leads to, still empty.
    needs = {a.value: [_field_form(f, t["fields"].get(f.key)) for f in template.fields
                       if moves[status].value in f.required_at and t["fields"].get(f.key) in (None, "", [])]
             for a, moves in TRANSITIONS.items() if status in moves and a.value != "escalate"}
    actions = list(needs)
    stage_needs = {s.key: [_field_form(f, t["fields"].get(f.key)) for f in template.fields
                           if s.key in f.required_at and t["fields"].get(f.key) in (None, "", [])]
                   for s in template.stages}
    dwell = t.get("dwell") or {}
    return {
        "ticket": t, "stage_label": labels.get(t["stage"], t["stage"]),
        "status_label": catalog.status_labels.get(status, t["status"]),
        "priority_label": catalog.priority_labels.get(t["priority"], t["priority"]),
        "people": {k: name_of(t.get(k)) for k in ("reporter", "assignee")},
        "cc_names": [name_of(u) for u in t.get("cc") or ()],
        "field_rows": [{"label": fields[k].label if k in fields else k, "value": _shown(v)}
                       for k, v in (t.get("fields") or {}).items()],
        "sla": [{"name": k, "deadline": local_time(v.get("deadline")), "explanation": v.get("explanation"),
                 "breached": v.get("breached"), "paused": v.get("paused")} for k, v in (t.get("sla") or {}).items()],
        "history": [{**h, "at_local": local_time(h["at"]), "by_name": name_of(h["by"]),
                     "status_label": catalog.status_labels.get(h["status"], h["status"]),
                     "stage_label": labels.get(h["stage"], h["stage"])} for h in t.get("history") or []],
        "dwell_stages": [{"key": k, "label": labels.get(k, k), "wall_h": _hours(v.get("wall")),
                          "business_h": _hours(v.get("business"))} for k, v in (dwell.get("by_stage") or {}).items()],
        "actions": actions, "needs": needs, "stages": [{"key": s.key, "label": s.label} for s in template.stages
                                                        if s.key != t["stage"]],
        "stage_needs": stage_needs,
    }


def _field_form(spec: Any, value: Any) -> dict[str, Any]:
    return {"key": spec.key, "label": spec.label, "type": spec.type.value,
            "options": [{"value": o.value, "label": o.label} for o in spec.options], "value": value or ""}


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("title") or value.get("id") or value)
    return str(value)


def _hours(value: Any) -> float | None:
    """A pydantic-serialised timedelta (ISO 8601 duration or seconds) in hours, 2 decimals."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return round(value / 3600, 2)
    return round(_durations().validate_python(value).total_seconds() / 3600, 2)


@lru_cache(maxsize=1)
def _durations() -> Any:
    from datetime import timedelta

    from pydantic import TypeAdapter

    return TypeAdapter(timedelta)


# ------------------------------------------------------------------------------ dwell time
def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    pos = (len(ordered) - 1) * q  # linear interpolation between the closest ranks
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def dwell_stats(scope: Scope, weeks: int, basis: str) -> dict[str, Any]:
    """停留时长: p50 / p90 hours per stage and per team over the tickets resolved in the last `weeks`
    ISO weeks (the viewer's scope of them), by week, in `basis` time (business or wall)."""
    from datetime import timedelta

    from wecom_oa.tickets import service as tickets

    catalog = tickets.catalog()
    now = get_clock().now()
    week_keys = sorted({tickets.iso_week(now - timedelta(weeks=i)) for i in range(weeks)})
    records = [r for r in tickets.dwell_records(week_keys) if scope.sees(_ticket_people(r, catalog))]
    index = 1 if basis == "business" else 0
    stage_labels: dict[str, str] = {}  # a stage key's label in the template of the tickets that have it
    for r in records:
        for stage in catalog.template_for(r["type"]).stages:
            stage_labels.setdefault(stage.key, stage.label)
    team_labels = {t.key: t.label for t in catalog.teams}

    def table(dimension: str, labels: Mapping[str, str]) -> list[dict[str, Any]]:
        values: dict[str, list[float]] = {}
        per_week: dict[tuple[str, str], list[float]] = {}
        for r in records:
            for key, pair in (r.get(dimension) or {}).items():
                hours = float(pair[index]) / 3600
                values.setdefault(key, []).append(hours)
                per_week.setdefault((key, r["week"]), []).append(hours)
        return [{"key": k, "label": labels.get(k, k), "count": len(v), "p50": round(_percentile(v, 0.5), 2),
                 "p90": round(_percentile(v, 0.9), 2),
                 "weeks": [round(_percentile(per_week[(k, w)], 0.5), 2) if (k, w) in per_week else None
                           for w in week_keys]} for k, v in sorted(values.items())]

    return {"weeks": week_keys, "tickets": len(records), "basis": basis, "weeks_back": weeks,
            "stages": table("by_stage", stage_labels), "teams": table("by_team", team_labels)}


# ------------------------------------------------------------------------------ workflows
def workflow_board(scope: Scope, workflow_id: str) -> dict[str, Any]:
    """A workflow's board (onboarding's 12 tasks, an iteration): each task's state, owner and due
    time, the critical path, progress; for its owner, its task owners and subject, heads and admins
    of those."""
    from wecom_oa.workflows import service as workflows

    w = workflows.view(workflow_id)
    people = [w["owner"], *(t["owner"] for t in w["tasks"]), *(w.get("subject") or {}).values()]
    scope.require(people, f"workflow {workflow_id}")
    on_path = set(w["critical_path"])
    return {"workflow": w, "owner_name": name_of(w["owner"]),
            "pct": round(100 * w["progress"]["done"] / max(1, w["progress"]["total"])),
            "rows": [{**t, "due": local_time(t["due_at"]), "done": local_time(t.get("done_at")),
                      "critical": t["key"] in on_path} for t in w["tasks"]]}


# ------------------------------------------------------------------------------ configuration
def configuration(scope: Scope, name: str | None) -> dict[str, Any]:
    """The read-only configuration, for admins: the YAML files under config/ (rules, ticket types,
    SLA, calendars, schedules, workflows); they hold no secrets (those live in Secrets Manager)."""
    if scope.kind != "admin":
        raise NotFound("configuration not found")
    root = get_settings().config_dir
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*.yaml"))
    if name is None:
        return {"files": files, "name": None, "text": None}
    if name not in files:  # only a listed file: no path of the caller's making is opened
        raise NotFound(f"config {name} not found")
    return {"files": files, "name": name, "text": (root / name).read_text(encoding="utf-8")}


# ------------------------------------------------------------------------------ groups
def group_items(scope: Scope, group_id: str) -> dict[str, Any]:
    """A project group's open items (the 18:00 summary's "more" link), most at risk first, from the
    same open-items index the summary reads: the list the group's summary already shows its chat,
    for heads and admins; an employee sees the items they own (each item's page keeps its own scope)."""
    from wecom_oa.digests import service as digests
    from wecom_oa.digests.config import digest_config

    group = next((g for g in digest_config().groups if g.id == group_id), None)
    if group is None:
        raise NotFound(f"group {group_id} not found")
    now = get_clock().now()
    items = [i for i in digests.open_items([group], now) if scope.kind != "employee" or i.owner == scope.userid]
    items.sort(key=lambda i: (-(i.sla_ratio or 0), i.due_at or now))
    return {"group": group, "items": [
        {"kind": i.kind, "id": i.id, "title": i.title, "owner_name": i.owner_name or name_of(i.owner),
         "due": local_time(i.due_at), "overdue": bool(i.due_at and i.due_at < now),
         "risk_pct": round(100 * i.sla_ratio) if i.sla_ratio is not None else None} for i in items]}


# ------------------------------------------------------------------------------ production
def _group_members(group: Any) -> set[str]:
    directory = wiring.directory()
    members: set[str] = set()
    for dept in group.departments:
        try:
            members.update(directory.department_members(dept, recursive=True))
        except NotFound:
            continue
    return members


def production_board(scope: Scope) -> dict[str, Any]:
    """生产进度: each open order's plan vs actual, projection and alarm, for the orders of the groups
    the viewer belongs to or leads (admins: all; an order of no group: admins and department heads),
    with a chart per order."""
    from wecom_oa.digests import service as digests
    from wecom_oa.digests.config import digest_config

    groups = {g.id: g for g in digest_config().groups}
    visible: dict[str, bool] = {}

    def sees(group_id: str) -> bool:
        if scope.kind == "admin":
            return True
        if group_id not in visible:
            group = groups.get(group_id)
            visible[group_id] = scope.sees(_group_members(group)) if group else scope.kind == "head"
        return visible[group_id]

    rows = []
    for entry in digests.progress_board(get_clock().now()):
        plan, snap = entry["plan"], entry["snapshot"]
        if not sees(plan.group):
            continue
        rows.append({"order_id": plan.order_id, "product": plan.product,
                     "group": groups[plan.group].name if plan.group in groups else plan.group,
                     "total": snap.total_qty, "planned": round(snap.planned_qty), "actual": round(snap.actual_qty),
                     "behind_pct": round(snap.behind_pct, 1), "projected_total": (
                         round(snap.projected_total) if snap.projected_total is not None else None),
                     "projected_finish": local_time(snap.projected_finish), "end": local_time(snap.end),
                     "alarming": entry["alarming"], "behind": entry["behind"]})
    return {"orders": rows}


# ------------------------------------------------------------------------------ approvals
def _approval_people(a: Mapping[str, Any]) -> list[str | None]:
    people: list[str | None] = [a.get("applicant")]
    for st in a.get("stages") or []:
        people += list(st.get("approvers") or ()) + list(st.get("round_approvers") or ())
    return people


def waiting_for(userid: str, pending: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The pending approvals (read here unless given) whose open stage waits for `userid`."""
    from wecom_oa.approvals import service as approvals

    out = []
    for a in approvals.repo().pending() if pending is None else pending:
        for _, st in approvals.stage_states(a):
            if st.get("status") == "open" and userid in (st.get("round_approvers") or ()):
                out.append(_approval_row(a, st))
                break
    return out


def _approval_row(a: Mapping[str, Any], st: Mapping[str, Any] | None = None) -> dict[str, Any]:
    from wecom_oa.approvals import service as approvals

    return {"id": a["id"], "type_name": approvals.type_name(a["type"]), "applicant_name": name_of(a.get("applicant")),
            "status": a.get("status"), "status_label": status_label(str(a.get("status"))), "created": local_time(a.get("created_at")),
            "stage_name": (st or {}).get("name") or "", "amount": (a.get("form") or {}).get("amount")}


def approval_lists(scope: Scope, page: int, size: int) -> dict[str, Any]:
    """我的审批: waiting for me; my requests; for heads and admins, the pending ones of their scope."""
    from wecom_oa.approvals import service as approvals

    mine, _ = approvals.repo().by_applicant(scope.userid, size, None)
    pending = approvals.repo().pending()  # read once: what waits for me, and my scope's
    others = [] if scope.kind == "employee" else [
        _approval_row(a) for a in pending if a.get("applicant") != scope.userid and scope.sees([a.get("applicant")])]
    return {"waiting": waiting_for(scope.userid, pending), "mine": [_approval_row(a) for a in mine],
            "scope_pending": paginate(others, page, size)}


def status_label(status: str) -> str:
    from wecom_oa.console.pages import texts
    from wecom_oa.errors import ConfigurationError

    try:
        return texts().text(f"approval_status.{status}")
    except ConfigurationError:
        return status


def approval_detail(scope: Scope, approval_id: str) -> dict[str, Any]:
    from wecom_oa.approvals import service as approvals

    a = approvals.view(approval_id)
    scope.require(_approval_people(a), f"approval {approval_id}")
    decidable = next((st for st in a["stages"] if st.get("status") == "open"
                      and scope.userid in (st.get("round_approvers") or ())
                      and scope.userid not in {d["userid"] for d in st.get("decisions") or []
                                               if d["round"] == st.get("round")}), None)
    return {"approval": a, "type_name": approvals.type_name(a["type"]), "applicant_name": name_of(a["applicant"]),
            "status_label": status_label(a["status"]), "created": local_time(a.get("created_at")),
            "stages": [{**st, "approver_names": [name_of(u) for u in st.get("approvers") or ()],
                        "decisions": [{**d, "name": name_of(d["userid"]), "at_local": local_time(d["at"])}
                                      for d in st.get("decisions") or []]} for st in a["stages"]],
            "form_rows": [{"key": k, "value": _shown(v)} for k, v in (a.get("form") or {}).items()],
            "can_decide": decidable is not None}


# ------------------------------------------------------------------------------ notices
def _notice_visible(scope: Scope, sender: str | None) -> bool:
    return scope.kind == "admin" or scope.sees([sender])


def notice_list(scope: Scope, month: str | None, size: int) -> dict[str, Any]:
    from wecom_oa.notices import service as notices

    listing = notices.list_month(month, 100, None)
    rows = [{**n, "sender_name": name_of(n.get("sender")), "rate_pct": round(100 * n["ack_rate"], 1),
             "created": local_time(n.get("created_at"))}
            for n in listing["notices"] if _notice_visible(scope, n.get("sender"))]
    return {"month": listing["month"], "rows": rows[:size]}


def _notice(scope: Scope, notice_id: str) -> Any:
    """The notice when the viewer may see it (admins, its sender and their heads); else NotFound."""
    from wecom_oa.notices import service as notices

    notice, _ = notices.repository().get(notice_id)
    if not _notice_visible(scope, notice.sender):
        raise NotFound(f"notice {notice_id} not found")
    return notice


def notice_detail(scope: Scope, notice_id: str) -> dict[str, Any]:
    from wecom_oa.notices import service as notices

    notice = _notice(scope, notice_id)
    report = notices.report(notice_id)
    pending = report.get("pending") or []
    preload_names(pending[:500])
    return {"notice": notice, "report": report, "rate_pct": round(100 * report["ack_rate"], 1),
            "pending_people": [{"userid": u, "name": name_of(u)} for u in pending[:500]],
            "pending_more": max(0, len(pending) - 500), "sender_name": name_of(notice.sender)}


def notice_csv_rows(scope: Scope, notice_id: str) -> Iterable[list[str]]:
    """Every recipient with their department and acknowledgement time (the CSV export)."""
    from wecom_oa.console.pages import texts
    from wecom_oa.notices import service as notices

    _notice(scope, notice_id)  # the scope check, before the recipients are read
    directory = wiring.directory()
    departments: dict[Any, str] = {}

    def department(dept: Any) -> str:
        if dept not in departments:
            try:
                departments[dept] = directory.department(int(dept)).name if dept is not None else ""
            except (OAError, ValueError):
                departments[dept] = str(dept)
        return departments[dept]

    yield texts().text("csv_header").split(",")
    recipients = notices.repository().recipients(notice_id)
    preload_names(r["userid"] for r in recipients)
    if hasattr(directory, "preload_departments"):
        directory.preload_departments()
    for r in recipients:
        yield [r["userid"], name_of(r["userid"]), department(r.get("department")), local_time(r.get("acked_at"))]
