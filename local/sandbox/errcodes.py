"""The errcodes the sandbox answers with, and the one exception that carries them to `handle`.

WeCom answers HTTP 200 with `{errcode, errmsg}` for every failure; so does the sandbox, with one
sandbox-only exception (below). Codes are WeCom's own where PROTOCOL.md §3.8 (or the official
global list) names one for the situation. Every errmsg has WeCom's shape (PROTOCOL.md §3: a reason,
a `hint`, the caller IP and the errcode lookup link), see `wecom_errmsg`:

    invalid access_token, hint: [1772413200_3_5d1e0c2b9a8f7e61], from ip: 127.0.0.1, more info at
    https://open.work.weixin.qq.com/devtool/query?e=40014

The hint is deterministic (unix time of the call, the call's sequence number, a digest of both with
the path and errcode), so two runs of a test produce the same errmsg.

Sandbox-only, never sent by WeCom:

- an API path the sandbox does not implement → **HTTP 501** with errcode **9990501**
  (`SANDBOX_NOT_IMPLEMENTED`) and an errmsg naming the path and saying the sandbox does not
  implement it. WeCom's own codes are at most six digits, so this one cannot be mistaken for a WeCom
  permission error (48001/48002 would send an operator to the WeCom admin console for nothing).
  The product's client maps it to `wecom_oa.wecom.errors.SandboxNotImplemented`.

Choices made where WeCom's exact code is not documented, so tests and clients can rely on them:

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

import hashlib
from enum import IntEnum


class Err(IntEnum):
    OK = 0
    INVALID_SECRET = 40001
    INVALID_MSGTYPE = 40008
    INVALID_CORPID = 40013
    INVALID_CODE = 40029
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
    SANDBOX_NOT_IMPLEMENTED = 9990501  # sandbox-only, answered with HTTP 501 (see the module docstring)


SANDBOX_IP = "127.0.0.1"  # the sandbox does not see the caller's address; WeCom shows the egress IP
_MORE_INFO = "more info at https://open.work.weixin.qq.com/devtool/query?e={code}"


class ApiError(Exception):
    """Raised inside an API handler; `handle` turns it into `{errcode, errmsg}` with `status`
    (HTTP 200, as WeCom answers every error; 501 only for SANDBOX_NOT_IMPLEMENTED).

    `errmsg` is the reason alone; `prefix` is text WeCom puts before the reason (47001's
    "Warning: wrong json format.")."""

    def __init__(self, errcode: Err, errmsg: str, *, status: int = 200, prefix: str = "", **extra: object) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.status = status
        self.prefix = prefix
        self.extra = extra  # further response fields WeCom sends with this error (e.g. invaliduser)


def wecom_hint(unix_time: int, seq: int, path: str, errcode: int) -> str:
    """A deterministic stand-in for WeCom's request id: `<unix time>_<call seq>_<16 hex digits>`."""
    digest = hashlib.sha256(f"{unix_time}|{seq}|{path}|{errcode}".encode()).hexdigest()[:16]
    return f"{unix_time}_{seq}_{digest}"


def wecom_errmsg(reason: str, errcode: int, hint: str, *, prefix: str = "", ip: str = SANDBOX_IP) -> str:
    """`reason, hint: [hint], from ip: ip, more info at …?e=errcode`, as WeCom words every error."""
    head = f"{prefix} {reason}" if prefix else reason
    return f"{head}, hint: [{hint}], from ip: {ip}, {_MORE_INFO.format(code=int(errcode))}"
