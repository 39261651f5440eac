"""A fake of WeCom's server API (`https://qyapi.weixin.qq.com/cgi-bin/…`) for local mode and tests.

`WeComSandbox.handle(method, path, query, body)` answers like WeCom: HTTP 200 and WeCom's JSON
(`errcode`/`errmsg` always present) for every outcome, errors included. `path` is relative to
`cgi-bin` ("gettoken", "message/send"), so the local server can mount it under
`/_sandbox/cgi-bin/`. It is framework-free and thread-safe (one lock around each call).

Served: gettoken; message/send (text, markdown, textcard, template_card) and
message/update_template_card; appchat/create|get|send; webhook/send (group robots); oa/applyevent,
oa/getapprovaldetail, oa/getapprovalinfo, oa/vacation/getcorpconf|getuservacationquota;
oa/journal/get_record_list|get_record_detail (`local.sandbox.journals`); user/get,
user/list, user/simplelist, department/list, department/get, tag/get, tag/list.
Errcodes and the choices made where WeCom's are undocumented: `local.sandbox.errcodes`.
Over-long text is truncated where WeCom truncates (message/send text and text cards) and rejected
with 45002 where WeCom gives only a limit (`local.sandbox.payloads`); the record holds what was
delivered. Directory answers carry only what a self-built app created after 2022-06-20 gets (no
mobile, gender, email, biz_mail, avatar, qr_code, address) unless the company opts in with
`legacy_contact_fields: true`. A path the sandbox does not serve answers HTTP 501 with the
sandbox-only errcode 9990501, never a WeCom permission error. Every errmsg has WeCom's shape
(`reason, hint: [...], from ip: ..., more info at ...?e=<errcode>`).
Deliberate differences from WeCom: per-member delivery quotas (30/min, silently dropped) are not
modelled; the `invalid*` fields of message/send are present only when non-empty.

Inspection (for the local server and the callback simulator): `calls()`, `messages()` (newest
last), `card_by_task_id()`, `issue_click_response_code()`, `approval()`, `decide_approval()`,
`withdraw_approval()`, `submit_journal()`, `set_journal_permission()`.
"""

from __future__ import annotations

import copy
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local.sandbox import faults, payloads
from local.sandbox.approvals import ApprovalStore
from local.sandbox.directory import SandboxCompany, SandboxExtras
from local.sandbox.errcodes import ApiError, Err, wecom_errmsg, wecom_hint
from local.sandbox.journals import JournalStore
from wecom_oa.clock import Clock
from wecom_oa.directory import StaticDirectory, User
from wecom_oa.errors import Forbidden, InvalidInput, NotFound

TOKEN_TTL_SECONDS = 7200
RESPONSE_CODE_TTL = timedelta(hours=72)
ROBOT_MESSAGES_PER_MINUTE = 20
MAX_TOUSER, MAX_TOPARTY, MAX_TOTAG = 1000, 100, 100
APPCHAT_MEMBERS = (2, 2000)
APPCHAT_NAME_CHARS = 50
_CHATID = re.compile(r"^[0-9A-Za-z]{1,32}$")
_REDACTED = "***"

Handler = Callable[[dict[str, str], dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class _Route:
    method: str
    handler: Handler
    needs_token: bool = True


@dataclass(frozen=True)
class _Recipients:
    """Who a message reaches: each list already expanded to active userids."""

    touser: list[str]
    toparty: list[str]
    totag: list[str]
    invaliduser: list[str]
    invalidparty: list[str]
    invalidtag: list[str]
    everyone: bool = False

    @property
    def userids(self) -> list[str]:
        return list(dict.fromkeys([*self.touser, *self.toparty, *self.totag]))

    def record(self) -> dict[str, Any]:
        return {"touser": self.touser, "toparty": self.toparty, "totag": self.totag,
                "userids": self.userids, "all": self.everyone}

    def invalid_fields(self) -> dict[str, str]:
        fields = {"invaliduser": self.invaliduser, "invalidparty": self.invalidparty, "invalidtag": self.invalidtag}
        return {k: "|".join(v) for k, v in fields.items() if v}


@dataclass
class _Card:
    message: dict[str, Any]
    keys: tuple[str, ...]
    callback_capable: bool
    current: dict[str, Any]
    replace_name: str | None = None
    updates: list[dict[str, Any]] = field(default_factory=list)
    clicks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _ResponseCode:
    task_id: str
    issued_at: datetime
    userid: str | None  # None: issued by message/send; else the user whose click it came with
    used_at: datetime | None = None


@dataclass
class _Chat:
    chatid: str
    name: str
    owner: str
    userlist: list[str]


class WeComSandbox:
    """One WeCom corp with one self-built app (`agent_id`), its directory, robots and approvals."""

    def __init__(
        self,
        directory: StaticDirectory,
        corp_id: str,
        corp_secret: str,
        agent_id: int,
        clock: Clock,
        *,
        extras: SandboxExtras | None = None,
        legacy_contact_fields: bool | None = None,
    ) -> None:
        self._directory = directory
        self._extras = extras or SandboxExtras()
        # True: answer user/get like an app created before 2022-06-20 (mobile, email, gender, ...).
        # None: as the company file says (`legacy_contact_fields`, default off).
        self._legacy_contact_fields = (self._extras.legacy_contact_fields if legacy_contact_fields is None
                                       else legacy_contact_fields)
        self._corp_id = corp_id
        self._secret = corp_secret
        self._agent_id = int(agent_id)
        self._clock = clock
        self._lock = threading.RLock()
        self._users = {u.userid.lower(): u for u in directory.users()}
        self._tokens: dict[str, datetime] = {}
        self._token_corps: dict[str, str] = {}  # a downstream corp's token → its corpid (上下游)
        self._corp: str | None = None  # the downstream corp of the call being answered (None: our own)
        self._calls: list[dict[str, Any]] = []
        self._messages: list[dict[str, Any]] = []
        self._cards: dict[str, _Card] = {}
        self._codes: dict[str, _ResponseCode] = {}
        self._chats: dict[str, _Chat] = {}
        self._robot_sends: dict[str, deque[datetime]] = {}
        self._approvals = ApprovalStore(directory, self._extras, clock)
        self._journals = JournalStore(directory, clock)
        self._routes = self._build_routes()
        self.faults = faults.FaultPlan(clock)
        self._sent_keys: dict[str, tuple[datetime, str]] = {}  # content key → (sent at, msgid)
        self._login_codes: dict[str, tuple[str, float]] = {}  # web-login code → (userid, monotonic issue time)

    @classmethod
    def from_company(
        cls, company: SandboxCompany, corp_id: str, corp_secret: str, agent_id: int, clock: Clock, *,
        legacy_contact_fields: bool | None = None,
    ) -> WeComSandbox:
        return cls(company.directory, corp_id, corp_secret, agent_id, clock, extras=company.extras,
                   legacy_contact_fields=legacy_contact_fields)

    def _build_routes(self) -> dict[str, _Route]:
        get, post = "GET", "POST"
        return {
            "gettoken": _Route(get, self._gettoken, needs_token=False),
            "message/send": _Route(post, self._message_send),
            "message/update_template_card": _Route(post, self._update_template_card),
            "appchat/create": _Route(post, self._appchat_create),
            "appchat/get": _Route(get, self._appchat_get),
            "appchat/send": _Route(post, self._appchat_send),
            "webhook/send": _Route(post, self._webhook_send, needs_token=False),
            "oa/applyevent": _Route(post, lambda q, b: {"sp_no": self._approvals.apply(b)}),
            "oa/getapprovaldetail": _Route(post, lambda q, b: self._approvals.detail(b)),
            "oa/getapprovalinfo": _Route(post, lambda q, b: self._approvals.list_numbers(b)),
            "oa/journal/get_record_list": _Route(post, lambda q, b: self._journals.list_uuids(b)),
            "oa/journal/get_record_detail": _Route(post, lambda q, b: self._journals.detail(b)),
            "oa/vacation/getcorpconf": _Route(get, self._vacation_conf),
            "oa/vacation/getuservacationquota": _Route(post, self._vacation_quota),
            "user/get": _Route(get, self._user_get),
            "user/list": _Route(get, self._user_list),
            "user/simplelist": _Route(get, self._user_simplelist),
            "department/list": _Route(get, self._department_list),
            "department/get": _Route(get, self._department_get),
            "tag/get": _Route(get, self._tag_get),
            "tag/list": _Route(get, self._tag_list),
            "auth/getuserinfo": _Route(get, self._auth_getuserinfo),
            "corpgroup/corp/list_app_share_info": _Route(post, self._list_app_share_info),
            "corpgroup/corp/gettoken": _Route(post, self._downstream_token),
        }

    # -- entry point ----------------------------------------------------------------------------

    def handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        """Answer one API call: HTTP 200 and a JSON object with errcode and errmsg (HTTP 501 for a
        path the sandbox does not implement). An injected transport fault (`self.faults`,
        local/sandbox/faults.py) raises `InjectedFault` instead."""
        path = path.strip("/")
        fault = self.faults.take(path, body, after=False)
        if fault is not None:
            answer = faults.apply(fault)
            with self._lock:
                hint = wecom_hint(int(self._clock.now().timestamp()), len(self._calls) + 1, path, answer["errcode"])
            answer["errmsg"] = wecom_errmsg(answer["errmsg"], answer["errcode"], hint)
            return 200, answer
        status, response = self._handle(method, path, query, body)
        fault = self.faults.take(path, body, after=True)
        if fault is not None:
            faults.apply(fault)
        return status, response

    def _handle(self, method: str, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        with self._lock:
            payload: dict[str, Any] | None = None
            try:
                route = self._route(method, path)
                self._corp = self._token_corps.get(query.get("access_token", ""))
                if route.needs_token:
                    self._check_token(query)
                if self._corp is not None and path not in _DOWNSTREAM_APIS:
                    raise ApiError(Err.SANDBOX_NOT_IMPLEMENTED, f"not implemented in the sandbox: api {path!r} with a "
                                   "downstream corp's token (the sandbox serves message/send and card updates there)",
                                   status=501)
                payload = _json_object(body) if route.method == "POST" else {}
                response = {"errcode": 0, "errmsg": "ok", **route.handler(query, payload)}
            except ApiError as exc:
                status = exc.status
                hint = wecom_hint(int(self._clock.now().timestamp()), len(self._calls) + 1, path, int(exc.errcode))
                errmsg = wecom_errmsg(exc.errmsg, int(exc.errcode), hint, prefix=exc.prefix)
                response = {"errcode": int(exc.errcode), "errmsg": errmsg, **exc.extra}
            else:
                status = 200
            self._record_call(method, path, query, payload, response)
            self._corp = None
            return status, copy.deepcopy(response)

    def _route(self, method: str, path: str) -> _Route:
        route = self._routes.get(path)
        if route is None:
            raise ApiError(Err.SANDBOX_NOT_IMPLEMENTED, f"not implemented in the sandbox: the local WeCom sandbox "
                           f"does not implement api {path!r} (sandbox-only errcode, not a WeCom permission error)",
                           status=501)
        if method.upper() != route.method:
            code = Err.REQUIRE_GET if route.method == "GET" else Err.REQUIRE_POST
            raise ApiError(code, f"require {route.method} method: {path}")
        return route

    def reset(self) -> None:
        """Forget every message, call, card, chat, approval, journal and fault (the company, its
        robots and the issued tokens stay)."""
        with self._lock:
            self._calls.clear()
            self._messages.clear()
            self._cards.clear()
            self._codes.clear()
            self._chats.clear()
            self._robot_sends.clear()
            self._sent_keys.clear()
            self._approvals = ApprovalStore(self._directory, self._extras, self._clock)
            self._journals = JournalStore(self._directory, self._clock)
            self._routes = self._build_routes()
            self.faults = faults.FaultPlan(self._clock)

    # -- inspection -----------------------------------------------------------------------------

    def calls(self) -> list[dict[str, Any]]:
        """Every call, oldest first: seq, at, method, path, query (secrets redacted), body, errcode."""
        with self._lock:
            return copy.deepcopy(self._calls)

    def messages(self) -> list[dict[str, Any]]:
        """Every accepted message and card update, oldest first (newest last).

        Keys: seq, at (ISO UTC), api, msgtype, recipients {touser, toparty, totag, userids, all} (each
        expanded to active userids), content (text/markdown) or card (textcard/template_card/news)
        as delivered (after WeCom's truncation), task_id, response_code, msgid, chatid, robot (robot
        name), replace_name (button updates), truncated (the fields WeCom cut, e.g. `text.content`).
        """
        with self._lock:
            return copy.deepcopy(self._messages)

    def has_member(self, userid: str) -> bool:
        """A member of the company, or of a downstream partner corp as `corpid:userid`."""
        return userid.lower() in self._users or self.partner_member(userid) is not None

    def member_name(self, userid: str) -> str:
        user = self._users.get(userid.lower())
        if user is not None:
            return user.name
        found = self.partner_member(userid)
        if found is not None:
            partner = self._extras.partner(found[0])
            assert partner is not None
            return next(f"{m.name}（{partner.corp_name}）" for m in partner.users if m.userid == found[1])
        return userid

    def has_robot(self, name: str) -> bool:
        return any(r.name == name for r in self._extras.robots)

    def card_by_task_id(self, task_id: str) -> dict[str, Any]:
        """The template card sent with `task_id`: the send record plus `card_type` (of the card as
        sent: a callback's CardType), `card` (current content, after any whole-card update),
        `original_card`, `callback_capable`, `keys`, `replace_name`, `updates` and `clicks`.

        Raises NotFound for an unknown task_id."""
        with self._lock:
            card = self._card(task_id)
            return copy.deepcopy({
                **card.message,
                "card_type": card.message["card"]["card_type"],
                "card": card.current,
                "original_card": card.message["card"],
                "callback_capable": card.callback_capable,
                "keys": list(card.keys),
                "replace_name": card.replace_name,
                "updates": card.updates,
                "clicks": card.clicks,
            })

    def issue_click_response_code(self, task_id: str, userid: str, key: str | None = None) -> str:
        """A fresh single-use response_code for `userid` clicking the card (72 h validity).

        Raises NotFound (unknown task_id), InvalidInput (card cannot call back, or `key` is not one
        of its callback keys) and Forbidden (`userid` did not receive the card)."""
        with self._lock:
            card = self._card(task_id)
            if not card.callback_capable:
                raise InvalidInput(f"card {task_id!r} has no callback buttons")
            if key is not None and key not in card.keys:
                raise InvalidInput(f"card {task_id!r} has no button key {key!r}", details={"keys": list(card.keys)})
            user = self._users.get(userid.lower())
            clicker = user.userid if user is not None else (userid if self.partner_member(userid) else None)
            if clicker is None or clicker not in card.message["recipients"]["userids"]:
                raise Forbidden(f"{userid!r} did not receive card {task_id!r}")
            code = self._new_response_code(task_id, clicker)
            card.clicks.append({"userid": clicker, "key": key, "response_code": code, "at": self._now_iso()})
            return code

    def approval(self, sp_no: str) -> dict[str, Any]:
        """The approval form as oa/getapprovaldetail's `info`; NotFound when unknown."""
        with self._lock:
            return copy.deepcopy(self._approvals.info(sp_no))

    def decide_approval(self, sp_no: str, userid: str, approve: bool, speech: str = "") -> dict[str, Any]:
        """Simulate an approver acting in the WeCom client (see ApprovalStore.decide)."""
        with self._lock:
            return copy.deepcopy(self._approvals.decide(sp_no, userid, approve, speech))

    def withdraw_approval(self, sp_no: str, userid: str) -> dict[str, Any]:
        """Simulate the applicant's 撤销 in the WeCom client (see ApprovalStore.withdraw)."""
        with self._lock:
            return copy.deepcopy(self._approvals.withdraw(sp_no, userid))

    def submit_journal(self, userid: str, template_name: str = "日报", report_time: datetime | None = None,
                       *, template_id: str | None = None, text: str = "") -> dict[str, Any]:
        """Simulate a member submitting a journal (汇报) in the WeCom client; returns its detail `info`.
        `report_time` defaults to the clock's now. NotFound for an unknown or inactive member."""
        with self._lock:
            return copy.deepcopy(self._journals.submit(userid, template_name, report_time,
                                                       template_id=template_id, text=text))

    def set_journal_permission(self, allowed: bool) -> None:
        """Grant or withdraw the journal APIs (汇报 → 可调用接口的应用); withdrawn, they answer 48002."""
        with self._lock:
            self._journals.allowed = allowed

    def revoke_tokens(self) -> None:
        """Invalidate every issued access_token early, as WeCom may (clients get 40014)."""
        with self._lock:
            self._tokens.clear()

    def set_department_leaders(self, dept_id: int, leaders: list[str]) -> list[dict[str, Any]]:
        """An admin changes the department's heads in the WeCom console. Returns the user/get
        records of the users whose IsLeaderInDept changed: WeCom sends each an update_user callback
        (`local.sandbox.callbacks.user_update_xml`). Raises NotFound for an unknown department or user."""
        with self._lock:
            dept = self._directory.department(dept_id)
            unknown = [u for u in leaders if u.lower() not in self._users]
            if unknown:
                raise NotFound(f"unknown leaders {unknown} for department {dept_id}")
            changed = sorted(set(dept.leaders).symmetric_difference(leaders))
            dept.leaders = list(leaders)
            return [self._user_json(self._users[u.lower()]) for u in changed]

    # -- token ----------------------------------------------------------------------------------

    # -- web login (OAuth2 网页授权 and 扫码登录) ------------------------------------------------
    # WeCom: a code is used once and expires unused after 5 minutes - of the person's real time, so
    # wall time here, not the virtual clock (which may run a day in 86 s).
    LOGIN_CODE_SECONDS = 300

    def members(self) -> list[dict[str, str]]:
        """The company's active members, for the login pages' picker."""
        return [{"userid": u.userid, "name": u.name, "position": u.position}
                for u in self._users.values() if u.status == 1]

    def issue_login_code(self, userid: str) -> str:
        """The code WeCom appends to the redirect after `userid` logged in (the login pages)."""
        self._lookup_user(userid)
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._login_codes[code] = (userid, time.monotonic())
        return code

    def _auth_getuserinfo(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        """`auth/getuserinfo`: a member's userid for a fresh code, once; 40029 for an unknown, used
        or expired code (WeCom answers members outside the app's visible range too)."""
        issued = self._login_codes.pop(query.get("code") or "", None)
        if issued is None or time.monotonic() - issued[1] > self.LOGIN_CODE_SECONDS:
            raise ApiError(Err.INVALID_CODE, "invalid code")
        return {"userid": issued[0]}

    def _gettoken(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        corpid, secret = query.get("corpid", ""), query.get("corpsecret", "")
        if not corpid:
            raise ApiError(Err.CORPID_MISSING, "corpid missing")
        if corpid != self._corp_id:
            raise ApiError(Err.INVALID_CORPID, "invalid corpid")
        if not secret:
            raise ApiError(Err.SECRET_MISSING, "corpsecret missing")
        if not hmac.compare_digest(secret.encode(), self._secret.encode()):
            raise ApiError(Err.INVALID_SECRET, "invalid credential: corpsecret is not this app's secret")
        now = self._clock.now()
        # Expired tokens are kept a day so that they answer 42001 (expired), not 40014 (unknown).
        self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now - timedelta(days=1)}
        token = secrets.token_urlsafe(48)
        self._tokens[token] = now + timedelta(seconds=TOKEN_TTL_SECONDS)
        return {"access_token": token, "expires_in": TOKEN_TTL_SECONDS}

    # -- upstream/downstream (上下游) -------------------------------------------------------------

    def _list_app_share_info(self, _query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        """The corps the app is shared with (business_type 1: the chain's downstream corps)."""
        self._check_agent(body)
        if int(body.get("business_type") or 0) != 1:
            return {"ending": 1, "corp_list": [], "next_cursor": ""}
        corps = [{"corpid": p.corpid, "corp_name": p.corp_name, "agentid": p.agentid} for p in self._extras.partners]
        if body.get("corpid"):
            corps = [c for c in corps if c["corpid"] == body["corpid"]]
        return {"ending": 1, "corp_list": corps, "next_cursor": ""}

    def _downstream_token(self, _query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        partner = self._extras.partner(str(body.get("corpid") or ""))
        if partner is None or int(body.get("business_type") or 0) != 1:
            raise ApiError(Err.INVALID_CORPID, "invalid corpid: not a downstream corp the app is shared with")
        if str(body.get("agentid")) != str(partner.agentid):
            raise ApiError(Err.INVALID_AGENTID, "invalid agentid: not the shared app's agentid in that corp")
        now = self._clock.now()
        token = secrets.token_urlsafe(48)
        self._tokens[token] = now + timedelta(seconds=TOKEN_TTL_SECONDS)
        self._token_corps[token] = partner.corpid
        return {"access_token": token, "expires_in": TOKEN_TTL_SECONDS}

    def partner_member(self, qualified: str) -> tuple[str, str] | None:
        """(corpid, userid) for a downstream member named `corpid:userid`, if the chain has them."""
        corp, _, userid = qualified.partition(":")
        partner = self._extras.partner(corp)
        if partner is None or not any(m.userid == userid for m in partner.users):
            return None
        return corp, userid

    def _check_token(self, query: dict[str, str]) -> None:
        token = query.get("access_token", "")
        if not token:
            raise ApiError(Err.TOKEN_MISSING, "access_token missing")
        expires = self._tokens.get(token)
        if expires is None:
            raise ApiError(Err.INVALID_TOKEN, "invalid access_token")
        if self._clock.now() >= expires:
            raise ApiError(Err.TOKEN_EXPIRED, "access_token expired")

    # -- app messages ---------------------------------------------------------------------------

    def _message_send(self, _query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        self._check_agent(body)
        recipients = self._recipients(body)
        msgtype = body.get("msgtype")
        same = self._duplicate_of(body)
        if same is not None:  # enable_duplicate_check: the same content to the same people is not sent again
            return {"msgid": same}
        message = self._new_message("message/send", msgtype, recipients)
        info: payloads.CardInfo | None = None
        cut = payloads.Truncated()
        if msgtype == "text":  # WeCom truncates text beyond 2048 bytes (PROTOCOL.md §3.2)
            message["content"] = payloads.content(body, msgtype, payloads.TEXT_LIMIT, truncated=cut)
        elif msgtype == "markdown":  # a limit without truncation: 45002
            message["content"] = payloads.content(body, msgtype, payloads.APP_MARKDOWN_LIMIT)
        elif msgtype == "textcard":
            message["card"] = payloads.textcard(body, truncated=cut)
        elif msgtype == "template_card":
            info = payloads.template_card(body)
            if info.task_id is not None and info.task_id in self._cards:
                raise ApiError(Err.TASK_ID_INVALID, "taskid has existed: template_card.task_id must be unique per app")
            message.update(card=body["template_card"], task_id=info.task_id)
        else:
            raise ApiError(Err.INVALID_MSGTYPE, f"invalid msgtype {msgtype!r}: the sandbox serves text, markdown, "
                           "textcard and template_card")
        if not recipients.userids:
            raise ApiError(Err.ALL_RECIPIENTS_INVALID, "user & party & tag all invalid", **recipients.invalid_fields())
        message["truncated"] = cut.fields
        result: dict[str, Any] = {**recipients.invalid_fields(), "msgid": message["msgid"]}
        if info is not None and info.task_id is not None:
            if info.callback_capable:
                message["response_code"] = self._new_response_code(info.task_id, None)
                result["response_code"] = message["response_code"]
            self._cards[info.task_id] = _Card(message, info.keys, info.callback_capable, message["card"])
        self._messages.append(message)
        self._sent_keys[_content_key(body)] = (self._clock.now(), message["msgid"])
        return result

    def _duplicate_of(self, body: dict[str, Any]) -> str | None:
        """The msgid of the same message (content and recipients) sent within the body's
        `duplicate_check_interval` (default 1800 s, at most 4 h), when duplicate checking is on."""
        if body.get("enable_duplicate_check") not in (1, True, "1"):
            return None
        try:
            interval = min(int(body.get("duplicate_check_interval", 1800)), 4 * 3600)
        except (TypeError, ValueError):
            raise ApiError(Err.INVALID_PARAMETER, "invalid duplicate_check_interval") from None
        sent = self._sent_keys.get(_content_key(body))
        if sent is None or self._clock.now() - sent[0] > timedelta(seconds=interval):
            return None
        return sent[1]

    def _update_template_card(self, _query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        self._check_agent(body)
        code = body.get("response_code")
        rc = self._codes.get(code) if isinstance(code, str) else None
        if rc is None:
            raise ApiError(Err.INVALID_PARAMETER, "invalid response_code: unknown")
        if rc.used_at is not None:
            raise ApiError(Err.INVALID_PARAMETER, "invalid response_code: already used")
        if self._clock.now() - rc.issued_at >= RESPONSE_CODE_TTL:
            raise ApiError(Err.INVALID_PARAMETER, "invalid response_code: expired (valid 72 hours)")
        card = self._cards[rc.task_id]
        recipients = self._update_recipients(body, card, rc)
        update = self._new_message("message/update_template_card", "template_card", recipients)
        update.update(task_id=rc.task_id, response_code=code, msgid=None)
        if "button" in body:
            update.update(msgtype="button", replace_name=self._replace_name(body, card))
            card.replace_name = update["replace_name"]
        elif "template_card" in body:
            update["card"] = card.current = self._replacement_card(body, rc.task_id)
        else:
            raise ApiError(Err.INVALID_PARAMETER, "invalid parameter: button or template_card required")
        rc.used_at = self._clock.now()
        card.updates.append(update)
        self._messages.append(update)
        return {"invaliduser": recipients.invaliduser}

    def _replace_name(self, body: dict[str, Any], card: _Card) -> str:
        if card.message["card"]["card_type"] not in payloads.INTERACTIVE_CARD_TYPES:
            raise ApiError(Err.INVALID_PARAMETER, "invalid parameter button: only interactive cards have buttons")
        return payloads.required_str(payloads.section(body, "button"), "replace_name", "button")

    def _replacement_card(self, body: dict[str, Any], task_id: str) -> dict[str, Any]:
        """The whole-card replacement, checked like a new card; it keeps the card's task_id."""
        given = payloads.section(body, "template_card")
        if given.get("task_id") not in (None, task_id):
            raise ApiError(Err.INVALID_PARAMETER, "invalid parameter template_card.task_id: must be the card's own")
        replacement = {**given, "task_id": task_id}
        payloads.template_card({"template_card": replacement})
        return replacement

    def _update_recipients(self, body: dict[str, Any], card: _Card, rc: _ResponseCode) -> _Recipients:
        if body.get("atall") == 1:
            return _Recipients(card.message["recipients"]["userids"], [], [], [], [], [], everyone=True)
        given = {"touser": body.get("userids", []), "toparty": body.get("partyids", []),
                 "totag": body.get("tagids", [])}
        if any(given.values()):
            try:
                joined = {k: "|".join(str(x) for x in v) for k, v in given.items()}
            except TypeError:
                raise ApiError(Err.INVALID_PARAMETER, "invalid parameter userids/partyids/tagids: lists") from None
            return self._recipients(joined)
        users = [rc.userid] if rc.userid else card.message["recipients"]["userids"]
        return _Recipients(list(users), [], [], [], [], [])

    # -- recipients -----------------------------------------------------------------------------

    def _recipients(self, body: dict[str, Any]) -> _Recipients:
        if self._corp is not None:
            return self._downstream_recipients(body, self._corp)
        users = _split(body.get("touser"), "touser", MAX_TOUSER)
        parties = _split(body.get("toparty"), "toparty", MAX_TOPARTY)
        tags = _split(body.get("totag"), "totag", MAX_TOTAG)
        if not (users or parties or tags):
            raise ApiError(Err.INVALID_PARAMETER, "invalid parameter: touser, toparty and totag are all empty")
        if users == ["@all"]:
            return _Recipients([u.userid for u in self._directory.users() if _active(u)], [], [], [], [], [], True)
        direct: list[str] = []
        bad_users: list[str] = []
        for uid in users:
            user = self._users.get(uid.lower())
            if user is not None and _active(user):
                direct.append(user.userid)
            else:
                bad_users.append(uid.lower())
        via_party, bad_parties = self._expand(parties, self._party_members)
        via_tag, bad_tags = self._expand(tags, self._tag_members)
        return _Recipients(list(dict.fromkeys(direct)), via_party, via_tag, bad_users, bad_parties, bad_tags)

    def _downstream_recipients(self, body: dict[str, Any], corp: str) -> _Recipients:
        """A downstream corp's members, recorded as `corpid:userid` (userids of two corps may be equal)."""
        partner = self._extras.partner(corp)
        assert partner is not None
        users = _split(body.get("touser"), "touser", MAX_TOUSER)
        if not users:
            raise ApiError(Err.INVALID_PARAMETER, "invalid parameter: the sandbox reaches downstream members by touser")
        members = {m.userid for m in partner.users}
        good = [f"{corp}:{u}" for u in users if u in members]
        return _Recipients(list(dict.fromkeys(good)), [], [], [u for u in users if u not in members], [], [])

    def _expand(self, ids: list[str], members: Callable[[int], list[str] | None]) -> tuple[list[str], list[str]]:
        found: list[str] = []
        bad: list[str] = []
        for raw in ids:
            got = members(int(raw)) if raw.isdigit() else None
            if got is None:
                bad.append(raw)
            else:
                found.extend(got)
        return list(dict.fromkeys(found)), bad

    def _party_members(self, dept_id: int) -> list[str] | None:
        try:
            ids = self._directory.department_members(dept_id, recursive=True)
        except NotFound:
            return None
        return [u for u in ids if _active(self._directory.user(u))]

    def _tag_members(self, tagid: int) -> list[str] | None:
        tag = next((t for t in self._directory.tags() if t.tagid == tagid), None)
        if tag is None:
            return None
        return [u for u in self._directory.tag_members(tag.tagid) if _active(self._directory.user(u))]

    # -- app group chats ------------------------------------------------------------------------

    def _appchat_create(self, _query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        userlist = body.get("userlist")
        low, high = APPCHAT_MEMBERS
        if not isinstance(userlist, list) or not all(isinstance(u, str) for u in userlist):
            raise ApiError(Err.INVALID_PARAMETER, "invalid parameter userlist: list of userids required")
        members = list(dict.fromkeys(u.lower() for u in userlist))
        if not low <= len(members) <= high:
            raise ApiError(Err.INVALID_PARAMETER, f"invalid parameter userlist: {len(members)} members, {low}..{high}")
        owner = str(body.get("owner") or members[0]).lower()
        bad = [u for u in [*members, owner] if u not in self._users or not _active(self._users[u])]
        if bad:
            raise ApiError(Err.INVALID_CHAT_MEMBER, f"invalid chat member: {bad[0]}")
        members, owner = [self._users[u].userid for u in members], self._users[owner].userid
        name = body.get("name", "")
        if not isinstance(name, str) or len(name) > APPCHAT_NAME_CHARS:
            raise ApiError(Err.INVALID_PARAMETER, f"invalid parameter name: at most {APPCHAT_NAME_CHARS} characters")
        chatid = body.get("chatid") or f"sb{secrets.token_hex(12)}"
        if not isinstance(chatid, str) or not _CHATID.match(chatid):
            raise ApiError(Err.INVALID_CHATID, "invalid chatid: [0-9A-Za-z], at most 32 characters")
        if chatid in self._chats:
            raise ApiError(Err.CHATID_EXISTS, f"chatid exists: {chatid}")
        self._chats[chatid] = _Chat(chatid, name, owner, list(dict.fromkeys([*members, owner])))
        return {"chatid": chatid}

    def _chat(self, chatid: Any) -> _Chat:
        if not isinstance(chatid, str) or not _CHATID.match(chatid):
            raise ApiError(Err.INVALID_CHATID, "invalid chatid")
        chat = self._chats.get(chatid)
        if chat is None:
            raise ApiError(Err.CHAT_NOT_FOUND, f"chat not found: {chatid}")
        return chat

    def _appchat_get(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(query.get("chatid"))
        return {"chat_info": {"chatid": chat.chatid, "name": chat.name, "owner": chat.owner,
                              "userlist": list(chat.userlist), "chat_type": 0}}

    def _appchat_send(self, _query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(body.get("chatid"))
        msgtype = body.get("msgtype")
        message = self._new_message("appchat/send", msgtype, _Recipients(list(chat.userlist), [], [], [], [], []))
        message["chatid"] = chat.chatid
        if msgtype in ("text", "markdown"):
            message["content"] = payloads.content(body, msgtype, payloads.TEXT_LIMIT)
        elif msgtype == "textcard":
            message["card"] = payloads.textcard(body)
        else:
            raise ApiError(Err.INVALID_MSGTYPE, f"invalid msgtype {msgtype!r}: the sandbox serves text, markdown "
                           "and textcard in app chats")
        self._messages.append(message)
        return {}

    # -- group robots ---------------------------------------------------------------------------

    def _webhook_send(self, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        robot = self._extras.robot_by_key(query.get("key", ""))
        if robot is None:
            raise ApiError(Err.INVALID_WEBHOOK, "invalid webhook url")
        now = self._clock.now()
        window = self._robot_sends.setdefault(robot.key, deque())
        while window and now - window[0] >= timedelta(minutes=1):
            window.popleft()
        if len(window) >= ROBOT_MESSAGES_PER_MINUTE:
            raise ApiError(Err.FREQUENCY_LIMIT, f"api freq out of limit: at most {ROBOT_MESSAGES_PER_MINUTE} "
                           "messages per minute per robot")
        message = self._robot_message(body)
        message["robot"] = robot.name
        window.append(now)
        self._messages.append(message)
        return {}

    def _robot_message(self, body: dict[str, Any]) -> dict[str, Any]:
        msgtype = body.get("msgtype")
        mentioned: list[str] = []
        if msgtype == "text":
            content = payloads.content(body, "text", payloads.TEXT_LIMIT)
            raw = body["text"].get("mentioned_list") or []
            mentioned = [str(u).lower() for u in raw] if isinstance(raw, list) else []
        elif msgtype in ("markdown", "markdown_v2"):
            content = payloads.content(body, msgtype, payloads.ROBOT_MARKDOWN_LIMIT)
            mentioned = [m.lower() for m in re.findall(r"<@([^>]+)>", content)] if msgtype == "markdown" else []
        elif msgtype in ("template_card", "news"):
            if msgtype == "template_card":
                payloads.template_card(body, robot=True)
            else:
                payloads.robot_news(body)
            content = None
        else:
            raise ApiError(Err.INVALID_MSGTYPE, f"invalid msgtype {msgtype!r}: the sandbox robot serves text, "
                           "markdown, markdown_v2, news and template_card")
        everyone = "@all" in mentioned
        known = [self._users[u].userid for u in mentioned if u in self._users]
        message = self._new_message("webhook/send", msgtype, _Recipients(known, [], [], [], [], [], everyone))
        message["msgid"] = None
        if content is None:
            message["card"] = body[msgtype]
        else:
            message["content"] = content
        return message

    # -- approvals and vacation -----------------------------------------------------------------

    def _vacation_conf(self, _query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        return {"lists": [
            {"id": vt.id, "name": vt.name, "time_attr": 1 if vt.hours_per_day else 0, "duration_type": 1,
             "quota_attr": {"type": 1, "autoreset_time": 0, "autoreset_duration": 0},
             "perday_duration": vt.seconds_per_day}
            for vt in self._extras.vacation_types
        ]}

    def _vacation_quota(self, _query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        user = self._lookup_user(body.get("userid"))
        return {"lists": [
            {"id": vt.id, "vacationname": vt.name,
             "assignduration": round(b.assigned * vt.seconds_per_day),
             "usedduration": round(b.used * vt.seconds_per_day),
             "leftduration": round(b.left * vt.seconds_per_day)}
            for vt, b in self._extras.balances(user.userid)
        ]}

    # -- directory ------------------------------------------------------------------------------

    def _lookup_user(self, userid: Any) -> User:
        user = self._users.get(userid.lower()) if isinstance(userid, str) else None
        if user is None:
            raise ApiError(Err.USER_NOT_FOUND, f"userid not found: {userid}")
        return user

    def _user_json(self, user: User) -> dict[str, Any]:
        """user/get (and user/list) fields. Since 2022-06-20 WeCom no longer gives a newly created
        self-built app 头像、性别、手机、邮箱、企业邮箱、员工个人二维码、地址 (official doc 90196);
        those appear only for a company configured as an older app (`legacy_contact_fields`)."""
        leads = [1 if user.userid in self._directory.department(d).leaders else 0 for d in user.departments]
        answer: dict[str, Any] = {
            "userid": user.userid, "name": user.name, "department": list(user.departments),
            "order": [0] * len(user.departments), "position": user.position, "is_leader_in_dept": leads,
            "direct_leader": list(user.direct_leader), "status": user.status, "main_department": user.department,
        }
        if self._legacy_contact_fields:
            profile = self._extras.profiles.get(user.userid)
            answer.update({
                "mobile": profile.mobile if profile else "", "gender": profile.gender if profile else "0",
                "email": profile.email if profile else "", "biz_mail": "", "avatar": "", "thumb_avatar": "",
                "qr_code": "", "address": "",
            })
        return answer

    def _user_get(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        return self._user_json(self._lookup_user(query.get("userid")))

    def _department_id(self, raw: str | None) -> int:
        if not raw:
            raise ApiError(Err.INVALID_PARAMETER, "invalid parameter: department id required")
        if not raw.isdigit():
            raise ApiError(Err.INVALID_PARTY, f"invalid party id: {raw}")
        try:
            return self._directory.department(int(raw)).id
        except NotFound:
            raise ApiError(Err.INVALID_PARTY, f"invalid party id: {raw}") from None

    def _department_users(self, query: dict[str, str]) -> list[User]:
        dept_id = self._department_id(query.get("department_id"))
        recursive = query.get("fetch_child") == "1"
        wanted = set(self._directory.department_members(dept_id, recursive=recursive))
        return [u for u in self._directory.users() if u.userid in wanted]

    def _user_list(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        return {"userlist": [self._user_json(u) for u in self._department_users(query)]}

    def _user_simplelist(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        return {"userlist": [{"userid": u.userid, "name": u.name, "department": list(u.departments)}
                             for u in self._department_users(query)]}

    def _department_json(self, dept_id: int) -> dict[str, Any]:
        d = self._directory.department(dept_id)
        return {"id": d.id, "name": d.name, "parentid": d.parentid or 0, "order": 0,
                "department_leader": list(d.leaders)}

    def _department_list(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        if query.get("id"):
            ids = _subtree(self._department_id(query.get("id")), self._directory)
        else:
            ids = [d.id for d in self._directory.departments()]
        return {"department": [self._department_json(i) for i in ids]}

    def _department_get(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        return {"department": self._department_json(self._department_id(query.get("id")))}

    def _tag_get(self, query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        raw = query.get("tagid", "")
        tag = next((t for t in self._directory.tags() if raw.isdigit() and t.tagid == int(raw)), None)
        if tag is None:
            raise ApiError(Err.INVALID_TAGID, f"invalid tagid: {raw}")
        users = [self._directory.user(u) for u in tag.userids]
        return {"tagname": tag.tagname, "userlist": [{"userid": u.userid, "name": u.name} for u in users],
                "partylist": list(tag.partyids)}

    def _tag_list(self, _query: dict[str, str], _body: dict[str, Any]) -> dict[str, Any]:
        return {"taglist": [{"tagid": t.tagid, "tagname": t.tagname} for t in self._directory.tags()]}

    # -- bookkeeping ----------------------------------------------------------------------------

    def _check_agent(self, body: dict[str, Any]) -> None:
        try:
            agent = int(body.get("agentid"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            agent = None
        partner = self._extras.partner(self._corp) if self._corp is not None else None
        if agent != (partner.agentid if partner is not None else self._agent_id):
            raise ApiError(Err.INVALID_AGENTID, "invalid agentid")

    def _card(self, task_id: str) -> _Card:
        card = self._cards.get(task_id)
        if card is None:
            raise NotFound(f"no template card with task_id {task_id!r}")
        return card

    def _new_response_code(self, task_id: str, userid: str | None) -> str:
        code = secrets.token_urlsafe(32)
        self._codes[code] = _ResponseCode(task_id, self._clock.now(), userid)
        return code

    def _now_iso(self) -> str:
        return self._clock.now().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def _new_message(self, api: str, msgtype: Any, recipients: _Recipients) -> dict[str, Any]:
        """A message record; the caller fills content or card and appends it once accepted."""
        return {
            "seq": len(self._messages) + 1, "at": self._now_iso(), "api": api, "msgtype": msgtype,
            "recipients": recipients.record(), "content": None, "card": None, "task_id": None,
            "response_code": None, "msgid": secrets.token_urlsafe(24), "chatid": None, "robot": None,
            "replace_name": None, "truncated": [], "corp": self._corp,
        }

    def _record_call(
        self, method: str, path: str, query: dict[str, str], body: dict[str, Any] | None, response: dict[str, Any]
    ) -> None:
        shown = dict(query)
        for secret in ("access_token", "corpsecret"):
            if secret in shown:
                shown[secret] = _REDACTED
        if "key" in shown:
            robot = self._extras.robot_by_key(shown["key"])
            shown["key"] = robot.name if robot else _REDACTED
        self._calls.append({
            "seq": len(self._calls) + 1, "at": self._now_iso(), "method": method.upper(), "path": path,
            "query": shown, "body": copy.deepcopy(body), "errcode": response["errcode"],
        })


_DOWNSTREAM_APIS = frozenset({"message/send", "message/update_template_card"})


def _active(user: User) -> bool:
    return user.status == 1


def _split(value: Any, name: str, limit: int) -> list[str]:
    if value in (None, ""):
        return []
    if not isinstance(value, str):
        raise ApiError(Err.INVALID_PARAMETER, f"invalid parameter {name}: '|'-joined string required")
    ids = [v.strip() for v in value.split("|") if v.strip()]
    if len(ids) > limit:
        raise ApiError(Err.INVALID_PARAMETER, f"invalid parameter {name}: {len(ids)} ids, at most {limit}")
    return ids


def _subtree(root: int, directory: StaticDirectory) -> list[int]:
    ids = [root]
    for dept_id in ids:
        ids.extend(d.id for d in directory.departments() if d.parentid == dept_id and d.id not in ids)
    return ids


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        value = None
    if not isinstance(value, dict):
        raise ApiError(Err.DATA_FORMAT, "data format error", prefix="Warning: wrong json format.")
    return value


def _content_key(body: dict[str, Any]) -> str:
    """What WeCom's duplicate check compares: the message type, its content and its recipients."""
    msgtype = body.get("msgtype")
    return json.dumps([msgtype, body.get(msgtype), sorted(str(body.get("touser") or "").split("|")),
                       sorted(str(body.get("toparty") or "").split("|")), sorted(str(body.get("totag") or "").split("|"))],
                      sort_keys=True, ensure_ascii=False, default=str)
