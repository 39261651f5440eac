"""The errcodes the sandbox answers with, and the one exception that carries them to `handle`.

WeCom answers HTTP 200 with `{errcode, errmsg}` for every failure; so does the sandbox. Codes are
WeCom's own where PROTOCOL.md §3.8 (or the official global list) names one for the situation.
Choices made where WeCom's exact code is not documented, so tests and clients can rely on them:

- unknown API path → 48001 `api unauthorized` (a non-retryable config error, unlike -1 which clients retry);
- malformed JSON body → 47001 with WeCom's "Warning: wrong json format." hint;
- recipient lists over their limit, all recipients empty, missing/ill-typed fields → 40058;
- unknown, used or expired template-card response_code → 40058 with the reason in errmsg;
- unknown sp_no, bad getapprovalinfo window or cursor → 301025 (approval parameter error);
- journal list window/limit/cursor/filter errors and an unknown journaluuid → 40058; the app not
  granted the journal APIs → 48002 `api forbidden`;
- oa/applyevent by an unknown or inactive creator → 301055 (submitter not visible);
- unknown department → 60123, unknown tag → 40068, unknown user (user/get, quota) → 60111;
- appchat: invalid chatid → 86001, unknown chat → 86003, chatid exists → 86215, bad member → 86216.
"""

from __future__ import annotations

from enum import IntEnum


class Err(IntEnum):
    OK = 0
    INVALID_SECRET = 40001
    INVALID_MSGTYPE = 40008
    INVALID_CORPID = 40013
    INVALID_TOKEN = 40014
    INVALID_AGENTID = 40056
    INVALID_PARAMETER = 40058
    INVALID_TAGID = 40068
    TOKEN_MISSING = 41001
    CORPID_MISSING = 41002
    SECRET_MISSING = 41004
    TOKEN_EXPIRED = 42001
    TASK_ID_INVALID = 42014
    REQUIRE_GET = 43001
    REQUIRE_POST = 43002
    EMPTY_CONTENT = 44004
    CONTENT_TOO_LARGE = 45002
    FREQUENCY_LIMIT = 45009
    DATA_FORMAT = 47001
    API_UNAUTHORIZED = 48001
    API_FORBIDDEN = 48002
    USER_NOT_FOUND = 60111
    INVALID_PARTY = 60123
    ALL_RECIPIENTS_INVALID = 81013
    INVALID_CHATID = 86001
    CHAT_NOT_FOUND = 86003
    CHATID_EXISTS = 86215
    INVALID_CHAT_MEMBER = 86216
    INVALID_WEBHOOK = 93000
    APPROVAL_PARAMETER = 301025
    APPROVAL_NO_PERMISSION = 301055


class ApiError(Exception):
    """Raised inside an API handler; `handle` turns it into `{errcode, errmsg}` with HTTP 200."""

    def __init__(self, errcode: Err, errmsg: str, **extra: object) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.extra = extra  # further response fields WeCom sends with this error (e.g. invaliduser)
