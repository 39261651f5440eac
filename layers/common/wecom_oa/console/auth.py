"""Console login and sessions: WeCom web login, a signed session cookie, CSRF tokens.

- **Login** goes through WeCom, never a password of ours. Inside the WeCom client (its user agent
  says `wxwork`) the console redirects to OAuth2 网页授权 (`snsapi_base`, silent); in a PC browser
  to 企业微信扫码登录 (`wwlogin/sso/login`). Both come back to `/console/auth/callback` with a
  `code` (single use, 5 minutes) and our `state`; `auth/getuserinfo` turns the code into a userid.
  `state` is a random nonce also kept in a short-lived signed cookie, so a callback the browser did
  not start is refused (login CSRF).
- **Session**: an itsdangerous-signed cookie (`HttpOnly`, `Secure`, `SameSite=Lax`) holding the
  userid, a CSRF token and the time it was issued; it expires after `session_hours` of wall time.
  The signing key is derived (HKDF-SHA256) from the WeCom app secret, so no new secret exists and
  rotating the app secret logs everybody out.
- **CSRF**: every state-changing form carries the session's token; a POST without the matching
  token changes nothing (403).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode

from wecom_oa import wiring
from wecom_oa.settings import get_settings

SESSION_COOKIE = "oa_console"
LOGIN_COOKIE = "oa_console_login"
LOGIN_SECONDS = 600  # a login started and not finished within 10 minutes starts again
CALLBACK_PATH = "/console/auth/callback"


@dataclass(frozen=True)
class Session:
    userid: str
    csrf: str


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"wecom-oa console session v1").derive(
        secret.encode())


def _serializer(salt: str) -> Any:
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(_key(wiring.wecom_credentials().secret), salt=salt)


def issue_session(userid: str) -> tuple[str, Session]:
    """A new session for `userid` (a fresh CSRF token): the cookie value and the session."""
    session = Session(userid=userid, csrf=secrets.token_urlsafe(24))
    return _serializer("session").dumps({"u": session.userid, "c": session.csrf}), session


def read_session(value: str | None, max_age_seconds: int) -> Session | None:
    """The session a cookie holds; None when absent, forged, tampered with or expired."""
    from itsdangerous import BadSignature

    if not value:
        return None
    try:
        data = _serializer("session").loads(value, max_age=max_age_seconds)
    except BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or not isinstance(data.get("c"), str):
        return None
    return Session(userid=data["u"], csrf=data["c"])


def csrf_ok(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.csrf, str(token))


def start_login(next_path: str) -> tuple[str, str]:
    """A new login: the state nonce and the signed cookie that remembers it and where to go after."""
    state = secrets.token_urlsafe(16)
    return state, _serializer("login").dumps({"s": state, "n": safe_next(next_path)})


def finish_login(cookie: str | None, state: str | None) -> str | None:
    """The path to go back to when `state` is the one this browser's login started with; else None."""
    from itsdangerous import BadSignature

    if not cookie or not state:
        return None
    try:
        data = _serializer("login").loads(cookie, max_age=LOGIN_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not hmac.compare_digest(str(data.get("s", "")), state):
        return None
    return safe_next(str(data.get("n") or "/console"))


def safe_next(path: str) -> str:
    """Only a console path of ours (no open redirect to another host)."""
    if not path.startswith("/console") or path.startswith("//") or "\\" in path:
        return "/console"
    return path


def public_base() -> str:
    return get_settings().public_base_url.rstrip("/")


def authorize_url(state: str, *, in_wecom: bool, host: str | None = None) -> str:
    """Where the browser goes to log in: OAuth2 inside WeCom, the QR login page elsewhere. The
    callback is under PublicBaseUrl, or under the host the request came to when none is set."""
    s, creds = get_settings(), wiring.wecom_credentials()
    redirect = (public_base() or (f"https://{host}" if host else "")) + CALLBACK_PATH
    if in_wecom:
        query = urlencode({"appid": creds.corp_id, "redirect_uri": redirect, "response_type": "code",
                           "scope": "snsapi_base", "state": state, "agentid": creds.agent_id}, quote_via=quote)
        return f"{s.wecom_oauth_base.rstrip('/')}/connect/oauth2/authorize?{query}#wechat_redirect"
    query = urlencode({"login_type": "CorpApp", "appid": creds.corp_id, "agentid": creds.agent_id,
                       "redirect_uri": redirect, "state": state}, quote_via=quote)
    return f"{s.wecom_sso_base.rstrip('/')}/wwlogin/sso/login?{query}"


def in_wecom(user_agent: str | None) -> bool:
    return "wxwork" in (user_agent or "").lower()


def cookie(name: str, value: str, max_age: int | None) -> Any:
    from aws_lambda_powertools.shared.cookies import Cookie, SameSite

    return Cookie(name=name, value=value, path="/console", secure=not get_settings().console_insecure_cookies,
                  http_only=True, same_site=SameSite.LAX_MODE, max_age=max_age)
