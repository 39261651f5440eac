"""WeCom call counts: gettoken per token lifetime across concurrent workers, message/send per N recipients.

Budgets (DESIGN.md): one `gettoken` per app per token lifetime across concurrent workers;
⌈N/1000⌉ `message/send` calls for N recipients. Requests are counted at an `httpx.MockTransport`
(no network). Measured in the same run: the peer, containers that each cache the token on their own
(wechatpy's default memory storage), and a baseline (not a peer), one message/send call per recipient.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx

from bench import BudgetMissed
from wecom_oa.clock import ManualClock
from wecom_oa.wecom.client import WeComClient
from wecom_oa.wecom.token_cache import MemoryTokenStore, TokenCache

API = "https://qyapi.weixin.qq.com/cgi-bin"
CORP, AGENT, SECRET = "ww-bench", 1000002, "bench-secret-value"
WORKERS = 8
LIFETIME = 7200
LIFETIMES = 3
STEP = 60  # virtual seconds between rounds; every worker sends once per round
REFRESH_AHEAD = 300  # TokenCache default: a token is replaced 5 min before it expires


class CountingWeCom:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._issued = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix("/cgi-bin/")
        with self._lock:
            self.counts[path] += 1
            if path == "gettoken":
                self._issued += 1
                return httpx.Response(200, json={"errcode": 0, "access_token": f"t{self._issued}",
                                                 "expires_in": LIFETIME})
        body = json.loads(request.content) if request.content else {}
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok", "msgid": f"m{len(body)}"})


def _client(wecom: CountingWeCom, store: MemoryTokenStore, clock: ManualClock) -> WeComClient:
    cache = TokenCache(store, clock=clock, sleep=clock.sleep, poll_interval=0.05)
    return WeComClient(API, CORP, AGENT, SECRET, cache, http=httpx.Client(transport=httpx.MockTransport(wecom)),
                       clock=clock, sleep=lambda s: None, rng=random.Random(1))


def _token_run(shared: bool) -> tuple[int, int]:
    """(gettoken calls, messages sent) over LIFETIMES token lifetimes with WORKERS concurrent containers."""
    wecom, clock = CountingWeCom(), ManualClock(datetime(2026, 1, 23, tzinfo=UTC))
    shared_store = MemoryTokenStore()
    clients = [_client(wecom, shared_store if shared else MemoryTokenStore(), clock) for _ in range(WORKERS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        for _ in range(LIFETIMES * LIFETIME // STEP):
            list(pool.map(lambda c: c.send_text("进度提醒", touser=["zhangsan"]), clients))
            clock.advance(STEP)
    return wecom.counts["gettoken"], wecom.counts["message/send"]


def _send_calls(n: int) -> tuple[int, float]:
    wecom, clock = CountingWeCom(), ManualClock(datetime(2026, 1, 23, tzinfo=UTC))
    client = _client(wecom, MemoryTokenStore(), clock)
    users = [f"user{i:05d}" for i in range(n)]
    t0 = time.perf_counter()
    client.send_text("通知", touser=users)
    return wecom.counts["message/send"], (time.perf_counter() - t0) * 1000


def run() -> str:
    shared_tokens, sent = _token_run(shared=True)
    own_tokens, _ = _token_run(shared=False)
    span = (LIFETIMES * LIFETIME // STEP - 1) * STEP
    needed = math.ceil(span / (LIFETIME - REFRESH_AHEAD))  # tokens one perfect fleet must fetch
    lines = [
        "## WeCom calls",
        "",
        f"gettoken with {WORKERS} concurrent workers over {LIFETIMES} token lifetimes "
        f"({LIFETIMES * LIFETIME // 3600} virtual hours, {sent} messages):",
        "",
        f"Token lifetimes needed (refreshing {REFRESH_AHEAD // 60} min early): {needed}.",
        "",
        "| token cache | gettoken calls | per token lifetime |",
        "|---|---|---|",
        f"| shared store + lease (ours) | {shared_tokens} | {shared_tokens / needed:.2f} |",
        f"| per-container memory (peer: wechatpy default) | {own_tokens} | {own_tokens / needed:.2f} |",
        "",
        f"Ratio ours / peer: {shared_tokens / own_tokens:.3f} (budget: 1 per lifetime).",
        "",
        "| recipients N | message/send calls | ⌈N/1000⌉ | baseline: one call per recipient | ratio | time (ms) |",
        "|---|---|---|---|---|---|",
    ]
    ok = shared_tokens <= needed
    for n in (1, 999, 1000, 1001, 6000):
        calls, ms = _send_calls(n)
        ok = ok and calls == math.ceil(n / 1000)
        lines.append(f"| {n} | {calls} | {math.ceil(n / 1000)} | {n} | {calls / n:.4f} | {ms:.1f} |")
    lines += ["", f"Budgets: one gettoken per token lifetime across the workers, ⌈N/1000⌉ message/send calls: "
              f"{'✓ pass' if ok else '✗ FAIL'}."]
    section = "\n".join(lines) + "\n"
    if not ok:
        raise BudgetMissed(section)
    return section



if __name__ == "__main__":
    print(run())
