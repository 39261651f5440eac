"""Routes of the 工作台 console (`/console/…`): server-rendered Chinese pages behind WeCom login.

Every page needs a session (else: to WeCom login and back); every POST needs the session's CSRF
token (else 403, nothing changed). What a page shows is cut to the viewer's data scope in
`views`; acting goes through the same feature functions as the API and the WeCom cards, with their
rules, version checks and exactly-once decisions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from wecom_oa.console import auth, pages, views
from wecom_oa.console.scopes import Scope, console_config, scope_for
from wecom_oa.errors import Conflict, InvalidInput, NotFound, OAError
from wecom_oa.observability import logger

router = Router()
HOME_ROWS = 10  # the home page's first open tickets; the ticket center pages through the rest
MAX_FORM_BYTES = 32 * 1024
HTML = "text/html; charset=utf-8"


class Forbidden(Exception):
    """A request the console refuses (403): no valid CSRF token, or nobody logged in for a POST."""


class LoginRequired(Exception):
    """A page asked for without a valid session: the console's handler sends the browser to login."""


# ------------------------------------------------------------------------------ plumbing
def _cookies() -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in router.current_event.get("cookies") or []:
        name, _, value = raw.partition("=")
        out.setdefault(name.strip(), value.strip())
    return out


def _form() -> dict[str, str]:
    body = router.current_event.decoded_body or ""
    if len(body.encode()) > MAX_FORM_BYTES:
        raise InvalidInput("form: too large")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _query(name: str) -> str:
    return (router.current_event.query_string_parameters or {}).get(name) or ""


def t(key: str, **values: Any) -> str:
    """A console text (templates/console.yaml)."""
    return pages.texts().fill(key, **values) if values else pages.texts().text(key)


def html(body: str, status: int = 200, cookies: list[Any] | None = None) -> Response[str]:
    return Response(status_code=status, content_type=HTML, body=body, cookies=cookies or [],
                    headers={"Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN",
                             "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                                                        "img-src 'self' data:; frame-ancestors 'self'"})


def redirect(location: str, cookies: list[Any] | None = None) -> Response[str]:
    return Response(status_code=302, content_type=HTML, body="", headers={"Location": location},
                    cookies=cookies or [])


def message_page(heading: str, text: str, status: int, *, login_again: bool = False,
                 viewer: Any = None) -> Response[str]:
    return html(pages.render("message.html", heading=heading, text=text, login_again=login_again, **(viewer or {})),
                status)


class Viewer:
    """The logged-in person of this request: session, scope and the template context."""

    def __init__(self, session: auth.Session) -> None:
        from wecom_oa import wiring

        self.session = session
        self.user = wiring.directory().user(session.userid)
        self.scope: Scope = scope_for(session.userid)

    def context(self, nav: str = "") -> dict[str, Any]:
        return {"me": self.user, "scope": self.scope, "csrf": self.session.csrf, "nav": nav}


def _viewer() -> Viewer | None:
    session = auth.read_session(_cookies().get(auth.SESSION_COOKIE), int(console_config().session_hours * 3600))
    if session is None:
        return None
    try:
        viewer = Viewer(session)
    except OAError:  # left the company or the app's visible range since logging in
        return None
    return viewer if viewer.user.status == 1 else None


def _require_viewer() -> Viewer:
    viewer = _viewer()
    if viewer is None:
        raise LoginRequired
    return viewer


def login_redirect() -> Response[str]:
    """To WeCom login, and back to the page asked for after it."""
    path = router.current_event.raw_path or "/console"
    query = router.current_event.raw_query_string
    return redirect("/console/auth/login?" + urlencode({"next": path + (f"?{query}" if query else "")}))


def _posting_viewer() -> tuple[Viewer, dict[str, str]]:
    viewer = _viewer()
    if viewer is None:
        raise Forbidden("not logged in")
    form = _form()
    if not auth.csrf_ok(viewer.session, form.get("csrf")):
        raise Forbidden("csrf token missing or wrong")
    return viewer, form


def _page() -> int:
    raw = _query("page")
    return int(raw) if raw.isdigit() else 1


# ------------------------------------------------------------------------------ login
@router.get("/console/auth/login", include_in_schema=False)
def login() -> Response[str]:
    state, cookie = auth.start_login(_query("next") or "/console")
    event = router.current_event
    url = auth.authorize_url(state, in_wecom=auth.in_wecom(event.headers.get("user-agent")),
                             host=event.headers.get("host") or event.request_context.domain_name)
    return redirect(url, [auth.cookie(auth.LOGIN_COOKIE, cookie, auth.LOGIN_SECONDS)])


@router.get("/console/auth/callback", include_in_schema=False)
def login_callback() -> Response[str]:
    from wecom_oa import wiring
    from wecom_oa.wecom.errors import WeComError

    next_path = auth.finish_login(_cookies().get(auth.LOGIN_COOKIE), _query("state"))
    if next_path is None:
        return message_page(t("pages.relogin_title"), t("pages.login_stale"), 403, login_again=True)
    try:
        userid = wiring.wecom_client().auth_getuserinfo(_query("code"))
    except WeComError as exc:  # 40029: a used, expired or forged code
        logger.info("console login code refused", extra={"errcode": getattr(exc, "errcode", None)})
        return message_page(t("pages.relogin_title"), t("pages.code_used"), 403, login_again=True)
    if userid is None:
        return message_page(t("pages.no_login_title"), t("pages.not_member"), 403)
    try:
        user = wiring.directory().user(userid)
    except OAError:  # WeCom answers for members outside the app's visible range too: user/get does not
        user = None
    if user is None or user.status != 1:
        return message_page(t("pages.no_login_title"), t("pages.not_visible"), 403)
    value, _ = auth.issue_session(userid)
    logger.info("console login", extra={"userid": userid})
    return redirect(next_path, [auth.cookie(auth.SESSION_COOKIE, value, int(console_config().session_hours * 3600)),
                                auth.cookie(auth.LOGIN_COOKIE, "", 0)])


@router.post("/console/auth/logout", include_in_schema=False)
def logout() -> Response[str]:
    _posting_viewer()
    return html(pages.render("message.html", heading=t("pages.logged_out_title"), text=t("pages.logged_out"),
                             login_again=True),
                cookies=[auth.cookie(auth.SESSION_COOKIE, "", 0)])


# ------------------------------------------------------------------------------ pages
@router.get("/console", include_in_schema=False)
def home() -> Response[str]:
    viewer = _require_viewer()
    tickets = views.ticket_list(viewer.scope, team=None, status=None, priority=None, assignee=None, overdue=False,
                                cursor=None, size=HOME_ROWS)
    return html(pages.render("home.html", **viewer.context("home"), waiting=views.waiting_for(viewer.scope.userid),
                             tickets=tickets))


@router.get("/console/tickets", include_in_schema=False)
def tickets_page() -> Response[str]:
    viewer = _require_viewer()
    filters = {k: _query(k) or None for k in ("team", "status", "priority", "assignee")}
    overdue = _query("overdue") == "1"
    data = views.ticket_list(viewer.scope, **filters, overdue=overdue, cursor=_query("cursor") or None,
                             size=console_config().page_size)

    def query(**changes: Any) -> str:
        params = {k: v for k, v in {**filters, "overdue": "1" if overdue else None, **changes}.items() if v}
        return urlencode(params)

    return html(pages.render("tickets.html", **viewer.context("tickets"), **data, query=query))


def _ticket_page(viewer: Viewer, ticket_id: str, status: int = 200, **form_state: Any) -> Response[str]:
    return html(pages.render("ticket.html", **viewer.context("tickets"), **views.ticket_detail(viewer.scope, ticket_id),
                             **form_state), status)


@router.get("/console/tickets/<ticket_id>", include_in_schema=False)
def ticket_page(ticket_id: str) -> Response[str]:
    viewer = _require_viewer()
    return _ticket_page(viewer, ticket_id)


@router.post("/console/tickets/<ticket_id>/actions", include_in_schema=False)
def ticket_action(ticket_id: str) -> Response[str]:
    from wecom_oa.tickets import service as tickets
    from wecom_oa.tickets.models import ActionRequest

    viewer, form = _posting_viewer()
    views.require_ticket(viewer.scope, ticket_id)  # 404 outside the scope, before anything is tried
    action = form.get("action", "")
    fields = {k.removeprefix("field."): v for k, v in form.items() if k.startswith("field.") and v != ""}
    body = {"action": action, "by": viewer.scope.userid, "version": int(form["version"]) if form.get("version", "").isdigit() else None,
            "to": form.get("to") or None, "comment": form.get("comment") or None, "reason": form.get("reason") or None,
            "fields": fields or None}
    state = {"form_action": action, "values": {**form, **fields}}
    try:
        if action == "comment" and not body["comment"]:
            raise InvalidInput("comment: required", details=[{"field": "comment", "problem": "required"}])
        tickets.act(ticket_id, ActionRequest.model_validate({k: v for k, v in body.items() if v is not None}))
    except InvalidInput as exc:
        return _ticket_page(viewer, ticket_id, 400, **state, **_form_errors(exc))
    except Conflict as exc:  # stale version or a transition the status no longer allows
        return _ticket_page(viewer, ticket_id, 409, **state, form_error=_conflict_text(exc))
    except ValueError as exc:  # the form could not be read as an action (pydantic)
        return _ticket_page(viewer, ticket_id, 400, **state, **_form_errors(InvalidInput(str(exc))))
    return redirect(f"/console/tickets/{ticket_id}")



def _form_errors(exc: InvalidInput) -> dict[str, Any]:
    """InvalidInput → messages next to the fields it names (Chinese), and one line above the form."""
    errors: dict[str, str] = {}
    details = exc.details if isinstance(exc.details, list) else []
    for d in details:
        if isinstance(d, dict) and d.get("field"):
            problem = str(d.get("problem") or "")
            required = problem == "required" or problem.endswith(" is required") or " is required at " in problem
            errors[str(d["field"])] = (t("forms.required") if required else
                                       t("forms.problem", problem=problem) if problem else t("forms.problem_unknown"))
    return {"errors": errors, "form_error": t("forms.fix_fields") if errors else t("forms.cannot_submit", message=exc.message)}


def _conflict_text(exc: OAError) -> str:
    if exc.code == "stale_version":
        return t("forms.stale")
    return t("forms.illegal", message=exc.message)


# ------------------------------------------------------------------------------ approvals
@router.get("/console/approvals", include_in_schema=False)
def approvals_page() -> Response[str]:
    viewer = _require_viewer()
    data = views.approval_lists(viewer.scope, _page(), console_config().page_size)
    return html(pages.render("approvals.html", **viewer.context("approvals"), **data))


@router.get("/console/approvals/<approval_id>", include_in_schema=False)
def approval_page(approval_id: str) -> Response[str]:
    viewer = _require_viewer()
    return html(pages.render("approval.html", **viewer.context("approvals"),
                             **views.approval_detail(viewer.scope, approval_id)))


@router.post("/console/approvals/<approval_id>/decide", include_in_schema=False)
def approval_decide(approval_id: str) -> Response[str]:
    from wecom_oa.approvals import service as approvals

    viewer, form = _posting_viewer()
    views.approval_detail(viewer.scope, approval_id)  # 404 outside the scope
    decision, reason = form.get("decision"), (form.get("reason") or "").strip() or None
    if decision not in ("approved", "rejected"):
        raise InvalidInput("decision: approved or rejected")
    if decision == "rejected" and not reason:
        return html(pages.render("approval.html", **viewer.context("approvals"),
                                 **views.approval_detail(viewer.scope, approval_id),
                                 errors={"reason": t("forms.reason_required")},
                                 form_error=t("forms.reason_missing")), 400)
    decided = approvals.decide_on_web(approval_id, viewer.scope.userid, decision, reason)
    if not decided:
        return html(pages.render("approval.html", **viewer.context("approvals"),
                                 **views.approval_detail(viewer.scope, approval_id),
                                 flash={"kind": "bad", "text": t("forms.already_decided")}), 409)
    return redirect(f"/console/approvals/{approval_id}")


# ------------------------------------------------------------------------------ notices
@router.get("/console/notices", include_in_schema=False)
def notices_page() -> Response[str]:
    viewer = _require_viewer()
    month = _query("month") or None
    try:
        data = views.notice_list(viewer.scope, month, console_config().page_size)
    except InvalidInput:
        data = views.notice_list(viewer.scope, None, console_config().page_size)
    return html(pages.render("notices.html", **viewer.context("notices"), **data))


@router.get("/console/notices/<notice_id>", include_in_schema=False)
def notice_page(notice_id: str) -> Response[str]:
    viewer = _require_viewer()
    data = views.notice_detail(viewer.scope, notice_id)
    return html(pages.render("notice.html", **viewer.context("notices"), **data,
                             deadline=views.local_time(data["notice"].ack_deadline)))


@router.get("/console/notices/<notice_id>/export", include_in_schema=False)
def notice_export(notice_id: str) -> Response[str]:
    import csv
    import io

    viewer = _require_viewer()
    out = io.StringIO()
    csv.writer(out).writerows(views.notice_csv_rows(viewer.scope, notice_id))
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body="\ufeff" + out.getvalue(),
                    headers={"Content-Disposition": f'attachment; filename="notice-{notice_id}.csv"',
                             "Cache-Control": "no-store"})


# ------------------------------------------------------------------------------ links and assets
@router.get("/console/tasks/<task_id>", include_in_schema=False)
def task_link(task_id: str) -> Response[str]:
    """The daily summary's task link: the task's own page is its WeCom card; here, its facts."""
    from wecom_oa.tasks import service as tasks

    viewer = _require_viewer()
    task = tasks.get(task_id)
    viewer.scope.require([task.get("owner"), task.get("created_by")], f"task {task_id}")
    text = t("pages.task", title=task.get("title"), owner=views.name_of(task.get("owner")),
             due=views.local_time(task.get("due_at")))
    return message_page(t("pages.task_title"), text, 200, viewer=viewer.context("home"))


@router.get("/console/dwell", include_in_schema=False)
def dwell_page() -> Response[str]:
    viewer = _require_viewer()
    raw = _query("weeks")
    weeks = min(max(int(raw), 1), 26) if raw.isdigit() else 8
    basis = "wall" if _query("basis") == "wall" else "business"
    return html(pages.render("dwell.html", **viewer.context("dwell"), **views.dwell_stats(viewer.scope, weeks, basis)))


@router.get("/console/progress", include_in_schema=False)
def progress_page() -> Response[str]:
    viewer = _require_viewer()
    return html(pages.render("progress.html", **viewer.context("progress"), **views.production_board(viewer.scope)))


@router.get("/console/workflows/<workflow_id>", include_in_schema=False)
def workflow_page(workflow_id: str) -> Response[str]:
    viewer = _require_viewer()
    return html(pages.render("workflow.html", **viewer.context("home"), **views.workflow_board(viewer.scope, workflow_id)))


@router.get("/console/config", include_in_schema=False)
def config_index() -> Response[str]:
    return _config_page(None)


@router.get("/console/config/<name>", include_in_schema=False)
def config_file(name: str) -> Response[str]:
    return _config_page(name)


@router.get("/console/config/<folder>/<name>", include_in_schema=False)
def config_nested(folder: str, name: str) -> Response[str]:
    return _config_page(f"{folder}/{name}")


def _config_page(name: str | None) -> Response[str]:
    viewer = _require_viewer()
    return html(pages.render("config.html", **viewer.context("config"), **views.configuration(viewer.scope, name)))


@router.get("/console/groups/<group_id>", include_in_schema=False)
def group_page(group_id: str) -> Response[str]:
    viewer = _require_viewer()
    return html(pages.render("group.html", **viewer.context("home"), **views.group_items(viewer.scope, group_id)))


@router.get("/console/static/<name>", include_in_schema=False)
def static(name: str) -> Response[Any]:
    return _static(name)


@router.get("/console/static/vendor/<name>", include_in_schema=False)
def static_vendor(name: str) -> Response[Any]:
    return _static(f"vendor/{name}")


def _static(name: str) -> Response[Any]:
    found = pages.static_file(name)
    if found is None:
        raise NotFound(f"no asset {name}")
    content, kind = found
    return Response(status_code=200, content_type=kind, body=content.decode("utf-8"),
                    headers={"Cache-Control": "public, max-age=86400"})
