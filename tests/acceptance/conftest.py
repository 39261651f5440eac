"""The acceptance harness: the product exactly as `make run` starts it (`python -m local.server`, the
shipped config, templates and demo company, no test-only variables), on a stepped clock
(`LOCAL_CLOCK=stepped`, a documented local-mode option) so days pass in seconds with every timer and
schedule at its own instant. Scenarios act only through the public HTTP API and the sandbox's WeCom
side (card clicks, chat messages, 汇报 journals) and assert what each person sees in WeCom
(`GET /_sandbox/inbox/{userid}`, `GET /_sandbox/robots/{name}`).

Each scenario writes the transcripts of the people and robots it names under
`results/acceptance/<scenario>/` for a person to read."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.parse import quote
from urllib.request import Request, urlopen

import pytest

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results" / "acceptance"
START_LIMIT_SECONDS = 120  # a stack that never says ready is a failure, not a hang


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Company:
    """The running product seen from outside: its API, the WeCom side of the sandbox, the clock."""

    def __init__(self, base: str, proc: subprocess.Popen[str], log: list[str]) -> None:
        self.base = base
        self.proc = proc
        self.log = log

    # -- HTTP -------------------------------------------------------------------------------------
    def call(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None) -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else json.dumps(body, ensure_ascii=False).encode())
        request = Request(self.base + path, data=data, method=method, headers={"content-type": "application/json"})
        try:
            with urlopen(request, timeout=600) as resp:
                status, text = resp.status, resp.read().decode()
        except HTTPError as err:
            status, text = err.code, err.read().decode()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def api(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        status, payload = self.call(method, path, body)
        if expect is not None:
            assert status == expect, (method, path, status, payload)
        self.settle()
        return payload

    # -- time -------------------------------------------------------------------------------------
    def now(self) -> str:
        return self.call("GET", "/_sandbox/clock")[1]["now"]

    def settle(self) -> None:
        status, payload = self.call("POST", "/_sandbox/clock", {"advance": "0"})
        assert status == 200, payload

    def advance(self, duration: str) -> dict[str, Any]:
        status, payload = self.call("POST", "/_sandbox/clock", {"advance": duration})
        assert status == 200, payload
        return payload

    def until(self, iso: str) -> dict[str, Any]:
        status, payload = self.call("POST", "/_sandbox/clock", {"to": iso})
        assert status == 200, payload
        return payload

    # -- WeCom side ---------------------------------------------------------------------------------
    def inbox(self, userid: str) -> list[dict[str, Any]]:
        status, entries = self.call("GET", f"/_sandbox/inbox/{quote(userid)}")
        assert status == 200, entries
        return entries

    def texts(self, userid: str) -> list[str]:
        return [e["text"] for e in self.inbox(userid)]

    def robot(self, name: str) -> list[dict[str, Any]]:
        status, entries = self.call("GET", f"/_sandbox/robots/{quote(name)}")
        assert status == 200, entries
        return entries

    def card(self, userid: str, contains: str) -> dict[str, Any]:
        """The latest card in `userid`'s inbox whose text contains `contains`."""
        cards = [e for e in self.inbox(userid) if e.get("task_id") and contains in e["text"]]
        assert cards, f"{userid} has no card containing {contains!r}: {self.texts(userid)}"
        return cards[-1]

    def click(self, userid: str, task_id: str, key: str, selected: dict[str, Any] | None = None) -> dict[str, Any]:
        body = {"userid": userid, "task_id": task_id, "key": key, **({"selected": selected} if selected else {})}
        status, payload = self.call("POST", "/_sandbox/click", body)
        assert status == 200, payload
        self.settle()
        return payload

    def chat(self, userid: str, text: str) -> dict[str, Any]:
        status, payload = self.call("POST", "/_sandbox/chat", {"userid": userid, "text": text})
        assert status == 200, payload
        self.settle()
        return payload

    def journal(self, userid: str, date: str | None = None) -> None:
        body = {"userid": userid} if date is None else {"userid": userid, "date": date}
        status, payload = self.call("POST", "/_sandbox/journals", body)
        assert status == 201, payload

    def transcript(self, kind: str, name: str) -> str:
        status, text = self.call("GET", f"/_sandbox/{kind}/{quote(name)}?format=text")
        assert status == 200, text
        return text


def launch_company(clock_start: str) -> Company:
    """`python -m local.server` on a free port with the stepped clock at `clock_start`, once ready."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "LOCAL_", "WECOM_", "OA_", "SANDBOX_", "POWERTOOLS_", "CONSOLE_"))}
    env.update({"PORT": str(port), "PYTHONPATH": f"{ROOT / 'layers' / 'common'}{os.pathsep}{ROOT}",
                "LOCAL_CLOCK": "stepped", "LOCAL_CLOCK_START": clock_start})
    proc = subprocess.Popen([sys.executable, "-m", "local.server"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    log: list[str] = []
    deadline = time.monotonic() + START_LIMIT_SECONDS
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        log.append(line)
        if "ready" in line:
            break
    else:
        proc.kill()
    if not log or "ready" not in log[-1]:
        proc.kill()
        pytest.fail("local stack did not start:\n" + "".join(log[-40:]))
    import threading

    def drain() -> None:  # keep the pipe from filling; the log helps when a scenario fails
        for line in proc.stdout:  # type: ignore[union-attr]
            log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return Company(f"http://127.0.0.1:{port}", proc, log)


def stop_company(company: Company) -> None:
    company.proc.terminate()
    try:
        company.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        company.proc.kill()


@pytest.fixture
def start_company(request: pytest.FixtureRequest) -> Iterator[Any]:
    """start_company(clock_start, people=[...], robots=[...]) → a running Company; transcripts of
    `people` and `robots` are written when the scenario ends (pass or fail)."""
    started: list[tuple[Company, list[str], list[str]]] = []

    def start(clock_start: str, *, people: list[str] = (), robots: list[str] = ()) -> Company:  # type: ignore[assignment]
        company = launch_company(clock_start)
        started.append((company, list(people), list(robots)))
        return company

    yield start
    folder = RESULTS / request.node.name
    for company, people, robots in started:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for userid in people:
                (folder / f"{userid}.txt").write_text(company.transcript("inbox", userid), encoding="utf-8")
            for name in robots:
                (folder / f"robot-{name}.txt").write_text(company.transcript("robots", name), encoding="utf-8")
            (folder / "server.log").write_text("".join(company.log[-2000:]), encoding="utf-8")
        finally:
            stop_company(company)
