"""`make run`: the whole product on 127.0.0.1:$PORT with no AWS account, no Docker, no WeCom app.

- AWS is an embedded moto server (its own loopback port; `AWS_ENDPOINT_URL` points boto3 at it),
  with resources created from template.yaml by `local.stack.LocalStack`.
- WeCom is the sandbox under /_sandbox/cgi-bin/ (same paths and JSON as qyapi.weixin.qq.com);
  the product's WeCom client talks to it over HTTP unless WECOM_API_BASE says otherwise.
- Routes: the template's HttpApi routes (IAM auth is not enforced locally; loopback only),
  /_sandbox/messages, /_sandbox/click, /_sandbox/schedules, /_sandbox/schedules/{name}/fire,
  /_sandbox/approvals/{sp_no}/submitted (the 提单 callback), /_sandbox/approvals/{sp_no}/decide
  ({userid, approve, speech?}: an approver acts in WeCom) and /_sandbox/approvals/{sp_no}/withdraw
  ({userid}: the applicant's 撤销); the sys_approval_change callback follows each.
  POST /_sandbox/journals ({userid, date?, template_name?}: a member submits a 汇报, default 日报),
  POST /_sandbox/chat ({userid, text}: a member writes to the app, e.g. "报修 …" opens a ticket).
- Schedules fire on the virtual clock (LOCAL_CLOCK_START, LOCAL_TIME_SCALE) from the template's
  ScheduleV2 events; queues are polled into their worker functions. With LOCAL_CLOCK=stepped time
  stands still until POST /_sandbox/clock ({advance: "2h"} or {to: ISO}) walks it forward, firing
  schedules and timers in order (`local.driver`).
- What people see: GET /_sandbox/inbox/{userid} and GET /_sandbox/robots/{name} (`?format=text`
  for a readable Chinese transcript).
- The 工作台 console at /console; WeCom's web login pages are the sandbox's
  (/_sandbox/wwlogin/sso/login on a PC, /_sandbox/connect/oauth2/authorize inside WeCom): pick a
  member and come back logged in (local/sandbox/login.py).

Prints one line containing `ready` when it serves.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import sys
import time
from typing import Any
from urllib.parse import urlencode

from local.sandbox import login

ROUTE_SANDBOX = "/_sandbox"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare_environment(port: int, moto_port: int) -> None:
    os.environ.update({
        "TZ": "UTC", "MOTO_PORT": str(moto_port), "AWS_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "LOCAL_MODE": "1",
    })
    os.environ.setdefault("WECOM_API_BASE", f"http://127.0.0.1:{port}{ROUTE_SANDBOX}/cgi-bin")
    # The console's WeCom login pages and its links (cards, digests) are this server's.
    os.environ.setdefault("WECOM_OAUTH_BASE", f"http://127.0.0.1:{port}{ROUTE_SANDBOX}")
    os.environ.setdefault("WECOM_SSO_BASE", f"http://127.0.0.1:{port}{ROUTE_SANDBOX}")
    os.environ.setdefault("OA_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("CONSOLE_INSECURE_COOKIES", "1")  # plain http on 127.0.0.1
    time.tzset()


def filter_messages(messages: list[dict[str, Any]], args: Any) -> list[dict[str, Any]]:
    """`/_sandbox/messages` narrowed by `to` (a userid among the recipients, or a robot name),
    `msgtype` and `since` (only messages after that `seq`); unknown filters are ignored."""
    to, msgtype, since = args.get("to"), args.get("msgtype"), args.get("since")
    out = messages
    if to:
        out = [m for m in out if to in ((m.get("recipients") or {}).get("userids") or []) or m.get("robot") == to]
    if msgtype:
        out = [m for m in out if m.get("msgtype") == msgtype]
    if since and since.isdigit():
        out = [m for m in out if int(m.get("seq", 0)) > int(since)]
    return out


def _docs(path: str) -> tuple[int, dict[str, str], str]:
    """Local mode's API documentation: Swagger UI at /_docs over the live resolver's OpenAPI
    document (also at /_docs/openapi.json; docs/openapi.json is the same, committed)."""
    import functions.api.app as handler
    from wecom_oa import openapi

    schema = openapi.document(handler.include_all(), openapi.version())
    if path.endswith(".json"):
        return 200, {"content-type": "application/json; charset=utf-8"}, openapi.dumps(schema)
    return 200, {"content-type": "text/html; charset=utf-8"}, openapi.swagger_page(schema)


def _sandbox_robot_keys() -> None:
    """The sandbox company's robots become the product's robot keys (deployed: the secret's robot_keys).

    Settings are cached on first read, so the cache is dropped once the keys are in the environment
    (reading them first and setting them after left every robot post RobotWebhookInvalid)."""
    from local.sandbox.directory import load_sandbox_directory
    from wecom_oa import wiring
    from wecom_oa.settings import get_settings, reset_settings

    if "WECOM_ROBOT_KEYS" not in os.environ:
        company = load_sandbox_directory(get_settings().sandbox_directory)
        os.environ["WECOM_ROBOT_KEYS"] = json.dumps({r.name: r.key for r in company.extras.robots})
        reset_settings()
        wiring.reset()


def _install_clock() -> Any:
    """LOCAL_CLOCK=stepped: a clock that moves only through POST /_sandbox/clock (None otherwise)."""
    from datetime import UTC, datetime

    from local.clock import SteppedClock
    from wecom_oa.clock import set_clock
    from wecom_oa.settings import get_settings

    s = get_settings()
    if s.local_clock != "stepped":
        return None
    clock = SteppedClock(s.local_clock_start or datetime.now(UTC).replace(microsecond=0))
    set_clock(clock)
    return clock


class LocalApp:
    """WSGI app: sandbox routes, then the template's API routes."""

    def __init__(self, stack: Any, sandbox: Any, simulator: Any, driver: Any = None) -> None:
        self.stack = stack
        self.sandbox = sandbox
        self.simulator = simulator
        self.driver = driver  # ClockDriver when the clock is stepped
        self.runner: ClockRunner | None = ClockRunner(driver) if driver is not None else None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        try:
            status, headers, body = self.dispatch(request)
        except Exception as exc:  # noqa: BLE001 - local runner: show the error, keep serving
            import traceback

            traceback.print_exc()
            status, headers, body = 500, {"content-type": "application/json"}, json.dumps(
                {"error": {"code": "local_runner_error", "message": f"{type(exc).__name__}: {exc}"}})
        response = Response(body, status=status, headers=headers)
        return response(environ, start_response)

    def dispatch(self, request: Any) -> tuple[int, Any, str | bytes]:
        path, method = request.path, request.method.upper()
        query = request.query_string.decode("latin-1")
        if path.startswith(f"{ROUTE_SANDBOX}/cgi-bin/"):
            from local.sandbox.faults import InjectedFault

            sub = path[len(f"{ROUTE_SANDBOX}/cgi-bin/"):]
            try:
                status, payload = self.sandbox.handle(method, sub, dict(request.args.items()), request.get_data())
            except InjectedFault as fault:
                if fault.kind in ("reset", "timeout"):
                    _drop_connection(request)
                return fault.status, {"content-type": "text/html"}, fault.body
            return status, {"content-type": "application/json; charset=utf-8"}, json.dumps(payload, ensure_ascii=False)
        if path.startswith(ROUTE_SANDBOX):
            return self.sandbox_route(method, path[len(ROUTE_SANDBOX):], request)
        if path in ("/_docs", "/_docs/openapi.json") and method == "GET":
            return _docs(path)
        resp = self.stack.http(method, path, body=request.get_data(), query=query, headers=dict(request.headers))
        headers = [*resp["headers"].items(), *(("set-cookie", c) for c in resp.get("cookies") or [])]
        return resp["statusCode"], headers, resp["body"]

    def sandbox_route(self, method: str, sub: str, request: Any) -> tuple[int, dict[str, str], str]:
        def ok(value: Any, status: int = 200) -> tuple[int, dict[str, str], str]:
            return status, {"content-type": "application/json; charset=utf-8"}, json.dumps(value, ensure_ascii=False, default=str)

        if sub == "/messages" and method == "GET":
            return ok(filter_messages(self.sandbox.messages(), request.args))
        if method == "GET" and (sub in login.FLOWS or sub == login.PICK):
            return self.login_route(sub, request)
        if sub == "/clock":
            return self.clock_route(method, request, ok)
        if sub == "/faults":
            return self.faults_route(method, request, ok)
        if sub == "/reset" and method == "POST":
            return ok(self.reset())
        if (sub.startswith("/inbox/") or sub.startswith("/robots/")) and method == "GET":
            return self.inbox_route(sub, request, ok)
        if sub == "/click" and method == "POST":
            body = _json_object(request)
            missing = [k for k in ("userid", "task_id", "key") if not body.get(k)]
            if missing:
                return ok({"error": {"code": "invalid_input", "message": f"missing {', '.join(missing)}"}}, 400)
            selected = body.get("selected") or {}
            if not isinstance(selected, dict):
                return ok({"error": {"code": "invalid_input",
                                     "message": "selected: give {question_key: option_id or [option_ids]}"}}, 400)
            result = self.simulator.click(body["userid"], body["task_id"], body["key"], selected)
            if result.get("status", 200) >= 400:
                return ok({"error": {"code": "invalid_input", "message": result["error"]}}, result["status"])
            return ok(result)
        if sub == "/schedules" and method == "GET":
            return ok([{"name": s.name, "expression": s.expression, "timezone": s.timezone,
                        "input": s.input} for s in self.stack.schedules.values()])
        if sub.startswith("/schedules/") and sub.endswith("/fire") and method == "POST":
            name = sub[len("/schedules/"):-len("/fire")]
            try:
                result = self.stack.fire(name, manual=True)
                if self.driver is not None:
                    self.driver.settle()
                return ok({"schedule": self.stack.schedule(name).name, "result": result})
            except KeyError:
                return ok({"error": {"code": "not_found", "message": f"no schedule {name!r}"}}, 404)
        if sub.startswith("/approvals/") and method == "POST":
            return self.approval_route(sub[len("/approvals/"):], request, ok)
        if sub == "/chat" and method == "POST":  # a member writes to the app, e.g. "报修 …" (chat intake)
            body = _json_object(request)
            missing = [k for k in ("userid", "text") if not isinstance(body.get(k), str) or not body[k].strip()]
            if missing:
                return ok({"error": {"code": "invalid_input", "message": f"missing {', '.join(missing)}"}}, 400)
            return ok(self.simulator.chat(body["userid"], body["text"]))
        if sub == "/journals" and method == "POST":  # a member submits a 汇报 (journal) in WeCom
            from local.sandbox.journals import submit_request
            from wecom_oa.errors import OAError

            try:
                return ok(self.sandbox.submit_journal(**submit_request(_json_object(request))), 201)
            except OAError as exc:  # missing userid, bad date, unknown member
                return ok({"error": {"code": exc.code, "message": exc.message}}, exc.status)
        return ok({"error": {"code": "not_found", "message": f"no sandbox route {method} {sub}"}}, 404)

    def login_route(self, sub: str, request: Any) -> tuple[int, dict[str, str], str]:
        """WeCom's web login pages (OAuth2 in the client, QR on a PC), played by the sandbox."""
        from wecom_oa.settings import get_settings

        trusted = request.host  # the console is served from this host: the app's 可信域名 here
        if sub == login.PICK:
            return login.pick(request.args, self.sandbox, trusted)
        return login.login_page(login.FLOWS[sub], request.args, self.sandbox, get_settings().wecom_corp_id or "", trusted)

    def faults_route(self, method: str, request: Any, ok: Any) -> tuple[int, dict[str, str], str]:
        """POST adds a fault (local/sandbox/faults.py FaultSpec), GET lists them with hits, DELETE clears."""
        from pydantic import ValidationError

        if method == "GET":
            return ok(self.sandbox.faults.list())
        if method == "DELETE":
            return ok({"cleared": self.sandbox.faults.clear()})
        if method != "POST":
            return ok({"error": {"code": "method_not_allowed", "message": "GET, POST or DELETE /_sandbox/faults"}}, 405)
        try:
            return ok(self.sandbox.faults.add(_json_object(request)), 201)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors())
            return ok({"error": {"code": "invalid_input", "message": problems}}, 400)

    def reset(self) -> dict[str, Any]:
        """A clean company with the clock where it is: running timers stopped, tables and queues
        emptied, the sandbox's messages, cards and approvals forgotten (a runner keeps running)."""
        import contextlib

        lock = self.runner.lock if self.runner is not None else contextlib.nullcontext()
        with lock:
            counts = self.stack.reset()
            self.sandbox.reset()  # the product's caches hold only what stays: tokens, the directory
            if self.driver is not None:
                self.driver.settle()
        return {"reset": True, **counts}

    def clock_route(self, method: str, request: Any, ok: Any) -> tuple[int, dict[str, str], str]:
        from datetime import datetime

        from local.driver import parse_duration
        from wecom_oa.clock import get_clock

        mode = "stepped" if self.driver is not None else "running"
        if method == "GET":
            state = {"now": get_clock().now().isoformat(), "mode": mode}
            if self.runner is not None:
                state.update(self.runner.state())
            return ok(state)
        if method != "POST":
            return ok({"error": {"code": "method_not_allowed", "message": "GET or POST /_sandbox/clock"}}, 405)
        if self.driver is None:
            return ok({"error": {"code": "clock_not_stepped", "message": "the clock runs on its own: start the "
                                 "stack with LOCAL_CLOCK=stepped to move it with POST /_sandbox/clock"}}, 409)
        body = _json_object(request)
        assert self.runner is not None
        try:
            if "run" in body:  # resume: time passes on its own, `run` real seconds per virtual second
                scale = float(body["run"])
                if not 0 < scale <= 10:
                    raise ValueError("run: real seconds per virtual second, e.g. 0.001 (an hour in 3.6 s), at most 10")
                self.runner.run(scale)
                return ok({"now": get_clock().now().isoformat(), **self.runner.state()})
            if body.get("pause"):
                self.runner.pause()
                return ok({"now": get_clock().now().isoformat(), **self.runner.state()})
            if "to" in body:
                target = datetime.fromisoformat(str(body["to"]))
                if target.tzinfo is None:
                    raise ValueError(f"to {body['to']!r} needs a UTC offset, e.g. 2026-11-23T18:00:00+08:00")
                if target < get_clock().now():
                    raise ValueError(f"to {body['to']!r} is in the past: the clock only moves forward")
                with self.runner.lock:
                    return ok(self.driver.advance_to(target))
            with self.runner.lock:
                return ok(self.driver.advance(parse_duration(body.get("advance", 0))))
        except ValueError as exc:
            return ok({"error": {"code": "invalid_input", "message": str(exc)}}, 400)

    def inbox_route(self, sub: str, request: Any, ok: Any) -> tuple[int, dict[str, str], str]:
        from local.sandbox import inbox

        kind, _, name = sub.strip("/").partition("/")
        messages = self.sandbox.messages()
        if kind == "inbox":
            if not self.sandbox.has_member(name):
                return ok({"error": {"code": "not_found", "message": f"no member {name!r} in the sandbox company"}},
                          404)
            entries, title = inbox.inbox(messages, name), f"{self.sandbox.member_name(name)}（{name}）的企业微信"
        else:
            if not self.sandbox.has_robot(name):
                return ok({"error": {"code": "not_found", "message": f"no robot {name!r} in the sandbox company"}},
                          404)
            entries, title = inbox.robot(messages, name), f"群机器人 {name}"
        if request.args.get("format") == "text":
            return 200, {"content-type": "text/plain; charset=utf-8"}, inbox.transcript(title, entries)
        return ok(entries)

    def approval_route(self, rest: str, request: Any, ok: Any) -> tuple[int, dict[str, str], str]:
        from wecom_oa.errors import OAError

        sp_no, _, action = rest.partition("/")
        body = _json_object(request)
        try:
            if action == "submitted":
                return ok(self.simulator.approval_change(sp_no))
            if action == "decide":
                if not body.get("userid") or not isinstance(body.get("approve"), bool):
                    return ok({"error": {"code": "invalid_input", "message": "userid and approve (bool) are required"}},
                              400)
                return ok(self.simulator.decide_approval(sp_no, body["userid"], body["approve"],
                                                         str(body.get("speech") or "")))
            if action == "withdraw":
                if not body.get("userid"):
                    return ok({"error": {"code": "invalid_input", "message": "userid (the applicant) is required"}}, 400)
                return ok(self.simulator.withdraw_approval(sp_no, body["userid"]))
        except OAError as exc:  # unknown sp_no, not the pending approver, already decided
            return ok({"error": {"code": exc.code, "message": exc.message}}, exc.status)
        return ok({"error": {"code": "not_found", "message": f"no sandbox approval action {action!r}"}}, 404)


def _json_object(request: Any) -> dict[str, Any]:
    """The request's JSON object, whatever the content type (curl -d sends a form type); {} otherwise."""
    body = request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else {}


class CallbackSimulator:
    """The WeCom side of callbacks: encrypts events exactly as WeCom does and posts them to our
    own /wecom/callback route (in-process: the same handler the HTTP route reaches)."""

    def __init__(self, stack: Any, sandbox: Any) -> None:
        self.stack = stack
        self.sandbox = sandbox

    def post_event(self, xml: str) -> dict[str, Any]:
        from wecom_oa.clock import get_clock
        from wecom_oa.wecom.crypto import WeComCrypto
        from wecom_oa.wiring import wecom_credentials

        creds = wecom_credentials()
        crypto = WeComCrypto(creds.token, creds.encoding_aes_key, creds.corp_id)
        # Signed at the process clock's time, as the callback's freshness check reads it.
        sealed = crypto.encrypt_callback(xml, timestamp=str(int(get_clock().now().timestamp())),
                                         nonce=os.urandom(4).hex(), agent_id=str(creds.agent_id))
        body = sealed.body
        query = urlencode({"msg_signature": sealed.msg_signature, "timestamp": sealed.timestamp,
                           "nonce": sealed.nonce})
        resp = self.stack.http("POST", "/wecom/callback", body=body.encode(), query=query,
                               headers={"content-type": "text/xml"})
        return {"status": resp["statusCode"], "body": resp["body"]}

    def approval_change(self, sp_no: str, info: dict[str, Any] | None = None, *,
                        statu_change_event: int | None = None, create_time: int | None = None) -> dict[str, Any]:
        """Deliver sys_approval_change for the form's current state (default: 提单, StatuChangeEvent 1).
        A different `create_time` makes a re-delivery WeCom's dedup key does not collapse."""
        from local.sandbox.callbacks import approval_change_xml
        from wecom_oa.clock import get_clock
        from wecom_oa.wiring import wecom_credentials

        creds = wecom_credentials()
        xml = approval_change_xml(info if info is not None else self.sandbox.approval(sp_no), corp_id=creds.corp_id,
                                  agent_id=creds.agent_id, statu_change_event=statu_change_event,
                                  create_time=create_time or int(get_clock().now().timestamp()))
        return {**self.post_event(xml), "xml": xml}

    def decide_approval(self, sp_no: str, userid: str, approve: bool, speech: str = "",
                        create_time: int | None = None) -> dict[str, Any]:
        """An approver acts in WeCom; the resulting sys_approval_change callback is delivered."""
        info = self.sandbox.decide_approval(sp_no, userid, approve, speech)
        return {**self.approval_change(sp_no, info, create_time=create_time), "sp_status": info["sp_status"]}

    def withdraw_approval(self, sp_no: str, userid: str, create_time: int | None = None) -> dict[str, Any]:
        """The applicant withdraws (or revokes after approval) in WeCom; the callback is delivered."""
        info = self.sandbox.withdraw_approval(sp_no, userid)
        return {**self.approval_change(sp_no, info, create_time=create_time), "sp_status": info["sp_status"]}

    def chat(self, userid: str, text: str) -> dict[str, Any]:
        """`userid` sends the app a text message (a fresh MsgId); the callback is delivered."""
        from local.sandbox.callbacks import text_message_xml
        from wecom_oa.clock import get_clock
        from wecom_oa.wiring import wecom_credentials

        creds = wecom_credentials()
        msg_id = str(int.from_bytes(os.urandom(7), "big"))
        xml = text_message_xml(userid, text, msg_id=msg_id, corp_id=creds.corp_id, agent_id=creds.agent_id,
                               create_time=int(get_clock().now().timestamp()))
        return {**self.post_event(xml), "msg_id": msg_id, "xml": xml}

    def click(self, userid: str, task_id: str, key: str,
              selected: dict[str, Any] | None = None) -> dict[str, Any]:
        """`userid` presses `key` on the card; for a select card (multiple_interaction) `selected`
        maps question_key → option id(s); unselected questions send the card's preselected option."""
        from wecom_oa.clock import get_clock
        from wecom_oa.errors import OAError
        from wecom_oa.wiring import wecom_credentials

        try:
            card = self.sandbox.card_by_task_id(task_id)
            items = _selected_items(card["card"], selected or {})
            response_code = self.sandbox.issue_click_response_code(task_id, userid, key)
        except OAError as exc:  # unknown card, a non-recipient, a key the card does not have
            return {"status": exc.status, "error": exc.message}
        creds = wecom_credentials()
        card_type = card.get("card_type") or "button_interaction"
        # A downstream member (`corpid:userid`) clicks the shared app's card in their own corp: the
        # event reaches our callback with their corp as ToUserName (encrypted with our app's keys).
        to_corp, _, bare = userid.rpartition(":") if self.sandbox.partner_member(userid) else ("", "", userid)
        xml = (f"<xml><ToUserName><![CDATA[{to_corp or creds.corp_id}]]></ToUserName>"
               f"<FromUserName><![CDATA[{bare}]]></FromUserName>"
               f"<CreateTime>{int(get_clock().now().timestamp())}</CreateTime>"
               "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
               f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
               f"<CardType><![CDATA[{card_type}]]></CardType>"
               f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode>{items}"
               f"<AgentID>{creds.agent_id}</AgentID></xml>")
        return {**self.post_event(xml), "response_code": response_code}


class ClockRunner:
    """Stepped clock, running: a thread walks the clock forward in small steps at `scale` real
    seconds per virtual second (each step waits for the stack to be quiet, like any advance, so
    time may run slower than asked under load, never past unfinished work) until paused. Manual
    advances and the runner's steps take turns (`lock`)."""

    TICK_REAL_SECONDS = 0.2

    def __init__(self, driver: Any) -> None:
        import threading

        self.driver = driver
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.scale: float | None = None

    def state(self) -> dict[str, Any]:
        return {"running": self._thread is not None and self._thread.is_alive(), "scale": self.scale}

    def run(self, scale: float) -> None:
        import threading

        self.pause()
        self.scale = scale
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="clock-runner", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
        self.scale = None

    def _loop(self) -> None:
        scale = self.scale or 1.0
        while not self._stop.wait(self.TICK_REAL_SECONDS):
            with self.lock:
                self.driver.advance(self.TICK_REAL_SECONDS / scale)


def _selected_items(card: dict[str, Any], selected: dict[str, Any]) -> str:
    """The callback's <SelectedItems> for a select card; an unknown question or option → InvalidInput."""
    from wecom_oa.errors import InvalidInput

    questions = {q["question_key"]: q for q in card.get("select_list") or []}
    if unknown := sorted(set(selected) - set(questions)):
        raise InvalidInput(f"selected: the card has no question {', '.join(unknown)}")
    parts = []
    for key, question in questions.items():
        given = selected.get(key, question.get("selected_id"))
        ids = [given] if isinstance(given, str) else list(given or [])
        known = {o["id"] for o in question.get("option_list", [])}
        if bad := [i for i in ids if i not in known]:
            raise InvalidInput(f"selected.{key}: no option {', '.join(map(str, bad))}; options: {', '.join(sorted(known))}")
        options = "".join(f"<OptionId><![CDATA[{i}]]></OptionId>" for i in ids)
        parts.append(f"<SelectedItem><QuestionKey><![CDATA[{key}]]></QuestionKey>"
                     f"<OptionIds>{options}</OptionIds></SelectedItem>")
    return f"<SelectedItems>{''.join(parts)}</SelectedItems>" if parts else ""


def _drop_connection(request: Any) -> None:
    """An injected reset: close the client's socket without an answer (werkzeug's dev server exposes it)."""
    import contextlib
    import socket

    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _refuse_invalid_config() -> None:
    """Stop before serving when a configuration file does not load, naming each mistake as
    `make check` does (a bad file would otherwise answer 500 to every request that reads it)."""
    from wecom_oa.cli.config_check import load_problems
    from wecom_oa.settings import get_settings

    problems = load_problems(get_settings().config_dir)
    if problems:
        print("configuration is invalid; fix it (`make check` lists every problem):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        raise SystemExit(2)


class _QuietMoto(logging.Filter):
    """Drop werkzeug's request lines of the embedded moto server (boto3 posts to `/`, Lambda invokes
    go to `/2015-03-31/…`) and of the product's own calls to the sandbox's WeCom API (they carry the
    access token; the sandbox records them, `GET /_sandbox/messages` shows what was sent): three
    quarters of the log were these.
    The requests people and other systems make stay. LOCAL_VERBOSE=1 keeps every line."""

    _NOISE = re.compile(r'"(?:\S*\[\d+m)*[A-Z]+ (?:/(?:\?\S*)?|/2015-03-31/\S*|/_sandbox/cgi-bin/\S*) HTTP/')

    def filter(self, record: logging.LogRecord) -> bool:
        return not self._NOISE.search(record.getMessage())


def main() -> None:
    if os.environ.get("LOCAL_VERBOSE", "") not in ("1", "true", "yes"):
        logging.getLogger("werkzeug").addFilter(_QuietMoto())
    port = int(os.environ.get("PORT", "3000"))
    moto_port = _free_port()
    _prepare_environment(port, moto_port)
    _refuse_invalid_config()

    from moto.core.config import default_user_config
    from moto.server import ThreadedMotoServer
    from werkzeug.serving import make_server

    from local import motoshim
    from local.sandbox.runtime import build_sandbox
    from local.stack import LocalStack

    default_user_config.update(json.loads(json.dumps(motoshim.MOTO_CONFIG)))
    motoshim.install()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()

    from local.driver import ClockDriver, ScheduleRunner

    clock = _install_clock()
    stack = LocalStack().deploy()
    _sandbox_robot_keys()
    sandbox = build_sandbox()
    stack.start_pollers()
    driver = None
    if clock is not None:
        driver = ClockDriver(stack, clock)
    else:
        ScheduleRunner(stack).start()
    app = LocalApp(stack, sandbox, CallbackSimulator(stack, sandbox), driver)
    server = make_server("127.0.0.1", port, app, threaded=True)
    from wecom_oa.clock import get_clock

    print(f"WeCom OA local stack ready on http://127.0.0.1:{port} "
          f"(AWS: moto on 127.0.0.1:{moto_port}; WeCom sandbox: /_sandbox/cgi-bin; "
          f"clock: {get_clock().now().isoformat()})", flush=True)
    print("  state is in memory (moto): a restart starts from an empty table; API docs at /_docs; "
          "messages: /_sandbox/messages?to=<userid>&msgtype=<type>&since=<seq>", flush=True)
    print(f"  工作台 console: http://127.0.0.1:{port}/console (log in as any demo member, e.g. lina or zhangsan)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        moto.stop()


if __name__ == "__main__":
    main()
