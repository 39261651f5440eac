"""Build the sandbox from settings, and an httpx transport that reaches it in-process (tests)."""

from __future__ import annotations

from typing import Any

from local.sandbox.directory import load_sandbox_directory
from local.sandbox.faults import InjectedFault
from local.sandbox.wecom_api import WeComSandbox
from wecom_oa.clock import Clock, get_clock
from wecom_oa.settings import get_settings

CGI_BIN = "/cgi-bin/"


class ProcessClock:
    """Follows whatever clock the process uses now (tests swap virtual clocks after the sandbox is built)."""

    def now(self) -> Any:
        return get_clock().now()

    def sleep(self, seconds: float) -> None:
        get_clock().sleep(seconds)


def build_sandbox(clock: Clock | None = None) -> WeComSandbox:
    s = get_settings()
    company = load_sandbox_directory(s.sandbox_directory)
    secret = s.wecom_secret.get_secret_value() if s.wecom_secret else ""
    return WeComSandbox.from_company(company, s.wecom_corp_id or "", secret, s.wecom_agent_id or 0,
                                     clock or ProcessClock())


def in_process_transport(sandbox: WeComSandbox) -> Any:
    """httpx transport answering WeCom API requests from the sandbox without a socket."""
    import httpx

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        sub = path.split(CGI_BIN, 1)[1] if CGI_BIN in path else path.lstrip("/")
        try:
            status, payload = sandbox.handle(request.method, sub, dict(request.url.params), request.content)
        except InjectedFault as fault:
            if fault.kind == "timeout":
                raise httpx.ReadTimeout("read timed out (injected fault)", request=request) from None
            if fault.kind == "reset":
                raise httpx.ReadError("[Errno 104] Connection reset by peer (injected fault)", request=request) from None
            return httpx.Response(fault.status, content=fault.body, headers={"content-type": "text/html"})
        return httpx.Response(status, json=payload)

    return httpx.MockTransport(handle)
