"""`make run` for real: the local server as a subprocess on a loopback port, driven over HTTP.

Covers the local-mode contract (ready line, /health, the sandbox routes), the callback answers
over HTTP with Tencent's official sample identity (on a second server whose stepped clock stands at
the samples' signed times, so the callback's freshness check passes), and the repair-ticket scenario
on a virtual clock (LOCAL_CLOCK_START on a workday morning, LOCAL_TIME_SCALE=0.001: supervisor, then
director, nothing after it is resolved)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

ROOT = Path(__file__).resolve().parents[2]
OFFICIAL = {v["id"]: v for v in json.loads(
    (ROOT / "tests" / "fixtures" / "wecom_vectors" / "official_vectors.json").read_text(encoding="utf-8"))}
VECTOR = OFFICIAL["official_2016_url_verification"]
POST_VECTOR = OFFICIAL["official_2016_post_text_utf8"]

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"

    def call(self, method: str, path: str, body: bytes | dict | None = None) -> tuple[int, str]:
        data = json.dumps(body, ensure_ascii=False).encode() if isinstance(body, dict) else body
        request = Request(self.base + path, data=data, method=method)
        try:
            with urlopen(request, timeout=20) as resp:
                return resp.status, resp.read().decode()
        except HTTPError as err:
            return err.code, err.read().decode()

    def json(self, method: str, path: str, body: dict | None = None) -> tuple[int, object]:
        status, text = self.call(method, path, body)
        return status, json.loads(text) if text else None


def _signed_at(vector: dict) -> datetime:
    return datetime.fromtimestamp(int(vector["query_params_decoded"]["timestamp"]), UTC)


@contextmanager
def _serve(clock_env: dict[str, str]) -> Iterator[Server]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "LOCAL_", "WECOM_"))}
    env.update({
        "PORT": str(port), "PYTHONPATH": f"{ROOT / 'layers' / 'common'}{os.pathsep}{ROOT}",
        "WECOM_TOKEN": VECTOR["token"], "WECOM_ENCODING_AES_KEY": VECTOR["encoding_aes_key"],
        "WECOM_CORP_ID": VECTOR["receive_id"], **clock_env,
    })
    proc = subprocess.Popen([sys.executable, "-m", "local.server"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    lines: list[str] = []
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        lines.append(line)
        if "ready" in line:
            break
    else:
        proc.kill()
    if not any("ready" in line for line in lines):
        proc.kill()
        pytest.fail("local server never printed ready:\n" + "".join(lines[-40:]))
    # keep draining its output so the pipe never blocks the server
    import threading

    threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()
    try:
        yield Server(port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with _serve({"LOCAL_CLOCK_START": "2026-11-23T09:00:00+08:00", "LOCAL_TIME_SCALE": "0.001"}) as served:
        yield served


@pytest.fixture(scope="module")
def vector_server() -> Iterator[Server]:
    """Stepped clock at the GET sample's signed time; POST /_sandbox/clock moves it to the POST sample's."""
    with _serve({"LOCAL_CLOCK": "stepped", "LOCAL_CLOCK_START": _signed_at(VECTOR).isoformat()}) as served:
        yield served


def test_health_answers_200(server: Server) -> None:
    status, body = server.json("GET", "/health")
    assert status == 200 and body["status"] == "ok" and body["local_mode"] is True


def test_official_samples_over_http_at_their_signed_times(vector_server: Server) -> None:
    # GET echo: the bare plaintext, at the 2016 sample's own time
    status, text = vector_server.call("GET", "/wecom/callback?" + VECTOR["raw_query_string"])
    assert (status, text) == (200, VECTOR["expected_plaintext"])
    # POST: acked with an empty body (twice: the duplicate gets the same answer), a bad signature 403
    status, _ = vector_server.json("POST", "/_sandbox/clock", {"to": _signed_at(POST_VECTOR).isoformat()})
    assert status == 200
    query = urlencode(POST_VECTOR["query_params_decoded"])
    body = POST_VECTOR["http_body"].encode()
    assert vector_server.call("POST", f"/wecom/callback?{query}", body) == (200, "")
    assert vector_server.call("POST", f"/wecom/callback?{query}", body) == (200, "")  # duplicate: same answer
    bad = urlencode({**POST_VECTOR["query_params_decoded"], "msg_signature": "0" * 40})
    assert vector_server.call("POST", f"/wecom/callback?{bad}", body)[0] == 403


def test_official_samples_are_stale_on_a_server_at_todays_time(server: Server) -> None:
    status, text = server.call("GET", "/wecom/callback?" + VECTOR["raw_query_string"])
    assert status == 403 and "window" in text
    query = urlencode(POST_VECTOR["query_params_decoded"])
    assert server.call("POST", f"/wecom/callback?{query}", POST_VECTOR["http_body"].encode())[0] == 403


def test_sandbox_lists_the_templates_schedules(server: Server) -> None:
    status, schedules = server.json("GET", "/_sandbox/schedules")
    assert status == 200
    assert any("daily" in s["name"] for s in schedules)
    assert {s["timezone"] for s in schedules} == {"Asia/Shanghai"}


def test_sandbox_serves_the_wecom_api(server: Server) -> None:
    status, body = server.json("GET", "/_sandbox/cgi-bin/gettoken?" + urlencode(
        {"corpid": VECTOR["receive_id"], "corpsecret": "sandbox-corp-secret"}))
    assert status == 200 and body["errcode"] == 0 and body["expires_in"] == 7200


def _escalations(server: Server, ticket_id: str) -> list[dict]:
    _, messages = server.json("GET", "/_sandbox/messages")
    return [m for m in messages if ticket_id in (m.get("content") or "") and "工单升级" in m["content"]
            and "首次响应" in m["content"]]


def test_a_repair_ticket_left_alone_reaches_supervisor_then_director_and_nothing_after_resolve(server) -> None:
    status, ticket = server.json("POST", "/tickets", {
        "type": "repair", "title": "注塑机温控失灵", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "注塑机", "location": "二号厂房"}})
    assert status == 201, ticket
    deadline = time.monotonic() + 40  # 1 h of business time = 3.6 s, 3 h = 10.8 s (plus lunch)
    while time.monotonic() < deadline and len(_escalations(server, ticket["id"])) < 2:
        time.sleep(0.25)
    first = _escalations(server, ticket["id"])
    assert [m["recipients"]["userids"] for m in first] == [["lina"], ["zhoujie"]], first
    status, _ = server.json("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})
    assert status == 200
    status, _ = server.json("POST", f"/tickets/{ticket['id']}/actions", {
        "action": "resolve", "by": "zhangsan", "comment": "已修复",
        "fields": {"repair_cost": 300, "fault_description": "温控模块损坏", "technician": "zhangsan"}})
    assert status == 200
    _, messages = server.json("GET", "/_sandbox/messages")
    count = len([m for m in messages if ticket["id"] in (m.get("content") or "") and "工单升级" in m["content"]])
    time.sleep(12)  # > 3 virtual hours: the resolution clock's escalations would fire without the stop
    _, messages = server.json("GET", "/_sandbox/messages")
    after = len([m for m in messages if ticket["id"] in (m.get("content") or "") and "工单升级" in m["content"]])
    assert after == count


def test_an_invalid_config_stops_the_server_before_it_serves_naming_the_line(tmp_path) -> None:
    config = tmp_path / "config"
    shutil.copytree(ROOT / "layers" / "common" / "wecom_oa" / "config", config)
    path = config / "ticket_types.yaml"
    text = path.read_text(encoding="utf-8")
    line = text[:text.index("type: money,")].count("\n") + 1
    path.write_text(text.replace("type: money,", "type: moneyy,", 1), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_ENDPOINT", "LOCAL_", "WECOM_", "OA_"))}
    env.update({"PORT": str(_free_port()), "OA_CONFIG_DIR": str(config),
                "PYTHONPATH": f"{ROOT / 'layers' / 'common'}{os.pathsep}{ROOT}"})

    done = subprocess.run([sys.executable, "-m", "local.server"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)

    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"ticket_types.yaml:{line}: templates.equipment_repair.fields." in done.stderr
    assert "ready" not in done.stdout
