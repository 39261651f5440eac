"""Journals (汇报: 日报, 周报 …) held by the sandbox: oa/journal/get_record_list and get_record_detail.

WeCom's shapes (see `JournalRecord` in the product's client for which fields are verified). The
sandbox validates like WeCom where WeCom documents a rule (window at most one month, here 31 days;
at most 100 per page; filter keys creator|department|template_id) and answers 40058 for those and
for an unknown journaluuid (WeCom's own code for these is undocumented). When the app is not granted
the journal APIs (`allowed = False`: not in 汇报 → 可调用接口的应用) both APIs answer 48002.

`submit` is the WeCom-side simulator's hook (a member submits a journal in the WeCom client); it is
not an API. Every method expects the sandbox lock to be held by the caller.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from local.sandbox import params
from local.sandbox.errcodes import ApiError, Err
from wecom_oa.clock import Clock
from wecom_oa.directory import StaticDirectory, leader
from wecom_oa.errors import InvalidInput, NotFound

WECOM_TZ = ZoneInfo("Asia/Shanghai")
MAX_WINDOW_SECONDS = 31 * 86_400
MAX_PAGE = 100
FILTER_KEYS = ("creator", "department", "template_id")
DAILY = "日报"
SUBMIT_HOUR = time(18, 0)  # a backdated journal (`date` given) is submitted at 18:00 China time


def template_id_for(name: str) -> str:
    """A stable template id per template name (WeCom's are opaque 40-odd character strings)."""
    return "3Tm" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:37]


def _param(problem: str) -> ApiError:
    return ApiError(Err.INVALID_PARAMETER, f"invalid parameter: {problem}")


@dataclass
class _Journal:
    uuid: str
    template_id: str
    template_name: str
    report_time: int
    submitter: str
    departments: list[int]
    receivers: list[str]
    text: str

    def info(self) -> dict[str, Any]:
        return {
            "journal_uuid": self.uuid,
            "template_name": self.template_name,
            "template_id": self.template_id,
            "report_time": self.report_time,
            "submitter": {"userid": self.submitter},
            "receivers": [{"userid": u} for u in self.receivers],
            "readed_receivers": [],
            "apply_data": {"contents": [{
                "control": "Textarea", "id": "Textarea-1",
                "title": [{"text": "工作内容", "lang": "zh_CN"}], "value": {"text": self.text},
            }]},
            "comments": [],
        }


class JournalStore:
    def __init__(self, directory: StaticDirectory, clock: Clock) -> None:
        self._directory = directory
        self._clock = clock
        self._journals: dict[str, _Journal] = {}
        self.allowed = True

    # -- APIs -------------------------------------------------------------------------------

    def list_uuids(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_allowed()
        start, end = _uint(body, "starttime"), _uint(body, "endtime")
        if end < start or end - start > MAX_WINDOW_SECONDS:
            raise _param("endtime must not be before starttime and at most one month after it")
        cursor, limit = _uint(body, "cursor"), _uint(body, "limit")
        if not 1 <= limit <= MAX_PAGE:
            raise _param(f"limit must be 1..{MAX_PAGE}")
        filters = _filters(body.get("filters", []))
        matches = sorted(
            (j for j in self._journals.values() if start <= j.report_time <= end and _matches(j, filters)),
            key=lambda j: (j.report_time, j.uuid),
        )
        page = matches[cursor: cursor + limit]
        nxt = cursor + len(page)
        return {"journaluuid_list": [j.uuid for j in page], "next_cursor": nxt,
                "endflag": 1 if nxt >= len(matches) else 0}

    def detail(self, body: dict[str, Any]) -> dict[str, Any]:
        self._check_allowed()
        uuid = body.get("journaluuid")
        journal = self._journals.get(uuid) if isinstance(uuid, str) else None
        if journal is None:
            raise _param(f"journaluuid {uuid!r} not found")
        return {"info": journal.info()}

    # -- simulator hooks --------------------------------------------------------------------

    def submit(self, userid: str, template_name: str = DAILY, report_time: datetime | None = None, *,
               template_id: str | None = None, text: str = "") -> dict[str, Any]:
        """A member submits a journal (default: a 日报 now) to their level-1 leader; returns its info.
        NotFound for an unknown or inactive member."""
        user = next((u for u in self._directory.users() if u.userid.lower() == userid.lower()), None)
        if user is None or user.status != 1:
            raise NotFound(f"no active member {userid!r} in the sandbox directory")
        try:
            boss = leader(self._directory, user.userid, 1)
        except NotFound:
            boss = None
        receivers = [boss] if boss else []  # the top of the company reports to nobody
        when = report_time or self._clock.now()
        journal = _Journal(
            uuid=secrets.token_urlsafe(48), template_id=template_id or template_id_for(template_name),
            template_name=template_name, report_time=int(when.timestamp()), submitter=user.userid,
            departments=list(user.departments), receivers=receivers, text=text or f"{template_name}内容",
        )
        self._journals[journal.uuid] = journal
        return journal.info()

    def _check_allowed(self) -> None:
        if not self.allowed:
            raise ApiError(Err.API_FORBIDDEN, "api forbidden: this app is not in 汇报 → 可调用接口的应用")


def submit_request(body: Any) -> dict[str, Any]:
    """Arguments of `submit` from the local server's `POST /_sandbox/journals {userid, date?,
    template_name?, text?}`: `date` (YYYY-MM-DD) backdates to 18:00 China time of that day; without
    it the journal is submitted now.
    InvalidInput names the field."""
    if not isinstance(body, dict) or not isinstance(body.get("userid"), str) or not body["userid"]:
        raise InvalidInput("userid is required", details={"field": "userid"})
    args: dict[str, Any] = {"userid": body["userid"], "template_name": str(body.get("template_name") or DAILY),
                            "text": str(body.get("text") or "")}
    if body.get("date"):
        try:
            day = date.fromisoformat(str(body["date"]))
        except ValueError:
            raise InvalidInput("date must be YYYY-MM-DD", details={"field": "date"}) from None
        args["report_time"] = datetime.combine(day, SUBMIT_HOUR, tzinfo=WECOM_TZ)
    return args


def _uint(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _param(f"{name} must be an unsigned integer")
    try:
        number = int(value)
    except ValueError:
        raise _param(f"{name} must be an unsigned integer") from None
    if number < 0:
        raise _param(f"{name} must be an unsigned integer")
    return number


def _filters(value: Any) -> list[tuple[str, str]]:
    return params.filters(value, FILTER_KEYS, _param)


def _matches(journal: _Journal, filters: list[tuple[str, str]]) -> bool:
    """Filters of one key are alternatives, different keys must all hold (as WeCom documents for
    approval filters; assumed the same for journals)."""
    actual = {"creator": {journal.submitter.lower()}, "department": {str(d) for d in journal.departments},
              "template_id": {journal.template_id}}
    wanted: dict[str, set[str]] = {}
    for key, value in filters:
        wanted.setdefault(key, set()).add(value.lower() if key == "creator" else value)
    return all(actual[key] & values for key, values in wanted.items())
