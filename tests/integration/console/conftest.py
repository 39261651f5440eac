"""The console on the local app (in-process moto + sandbox), driven like a browser: cookies kept,
forms posted as application/x-www-form-urlencoded, logins through the sandbox's WeCom pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

BASE = "http://console.test"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


class Page:
    def __init__(self, status: int, headers: dict[str, str], body: str) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self) -> str:
        """The page's visible text, roughly (tags dropped, whitespace squeezed)."""
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", "", self.body, flags=re.S)))

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.body)
        assert found, "no CSRF token on the page"
        return found.group(1)


class Browser:
    """One person's browser: its cookies, and WeCom login through the sandbox pages."""

    def __init__(self, app: Any, user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Chrome/156") -> None:
        self.app, self.cookies, self.user_agent = app, {}, user_agent

    def request(self, method: str, path: str, form: dict[str, Any] | None = None, query: str = "") -> Page:
        if "?" in path:
            path, query = path.split("?", 1)
        headers = {"user-agent": self.user_agent}
        if self.cookies:
            headers["cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["content-type"] = "application/x-www-form-urlencoded"
        resp = self.app.stack.http(method, path, body=body, query=query, headers=headers)
        for raw in resp.get("cookies") or []:
            name, _, rest = raw.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in raw:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return Page(resp["statusCode"], resp["headers"], resp["body"])

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, Any]) -> Page:
        return self.request("POST", path, form)

    def start_login(self, next_path: str = "/console") -> dict[str, str]:
        """Up to WeCom's login page: the query our redirect sends there."""
        page = self.get(f"/console/auth/login?{urlencode({'next': next_path})}")
        assert page.status == 302, page.body
        location = page.headers["location"]
        return {"url": location, **{k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}}

    def login(self, userid: str, next_path: str = "/console") -> Page:
        """The whole login as `userid` (the sandbox's WeCom side issues the code), back at `next_path`."""
        wecom = self.start_login(next_path)
        code = self.app.sandbox.issue_login_code(userid)
        page = self.get(f"/console/auth/callback?{urlencode({'code': code, 'state': wecom['state']})}")
        assert page.status == 302, page.text
        return self.get(page.headers["location"])


@pytest.fixture
def console(local_app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The local app with the console's public URL and the sandbox login pages configured, on a
    virtual clock from Monday 2026-03-02 09:00 (Shanghai) running at wall speed."""
    from wecom_oa.clock import VirtualClock, set_clock
    from wecom_oa.digests import config as digests
    from wecom_oa.settings import reset_settings

    set_clock(VirtualClock(START, scale=1.0))

    for name, value in {"OA_PUBLIC_BASE_URL": BASE, "WECOM_OAUTH_BASE": f"{BASE}/_sandbox",
                        "WECOM_SSO_BASE": f"{BASE}/_sandbox", "CONSOLE_INSECURE_COOKIES": "1"}.items():
        monkeypatch.setenv(name, value)
    reset_settings()
    digests.reset()  # the links' base is read once per process: this one's PublicBaseUrl
    yield local_app
    reset_settings()
    digests.reset()
    set_clock(None)


@pytest.fixture
def browser(console: Any) -> Any:
    return lambda: Browser(console)
