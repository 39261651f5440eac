"""A notice to a store network (Li Ning's shape: N stores under N/100 regions), end to end in-process:
the template's stack in moto, the WeCom sandbox behind the real WeCom client.

Measured per N: the POST /notices answer time (validation, expansion, counting, storing the notice;
sending continues in the events worker), the worker's time to store recipients and send, the WeCom
calls of both (budget: 15 + ⌈N/1000⌉), the GET /notices/{id} answer time and its WeCom calls, and the
final report's size. The peer, measured in the same run on the same sandbox, is the per-member
approach the product used before (one `user/get` per recipient and one `department/get` per store
for the statistics): its WeCom call count and the time those calls take in-process (a real WeCom
round trip is ~30–100 ms more per call, and the corp's budget is 10 000 calls per minute).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

SIZES = [int(n) for n in os.environ.get("BENCH_NOTICE_SIZES", "600,6000,60000").split(",")]


def _stack() -> Any:
    import boto3
    from moto import mock_aws

    from local import motoshim
    from local.stack import LocalStack

    mock = mock_aws(config=motoshim.MOTO_CONFIG)
    mock.start()
    stack = LocalStack(boto3.session.Session(region_name="us-east-1")).deploy()
    return mock, stack


def _scenario(stores: int) -> dict[str, Any]:
    from local.sandbox.generate import write
    from local.sandbox.runtime import build_sandbox, in_process_transport
    from wecom_oa import wiring
    from wecom_oa.aws.dynamo import reset_tables
    from wecom_oa.clock import ManualClock, set_clock
    from wecom_oa.settings import reset_settings

    regions = max(1, stores // 100)
    saved = dict(os.environ)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({"SANDBOX_DIRECTORY": str(write(Path(tmp) / "stores.yaml", stores, regions)),
                           "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "TZ": "UTC",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1"})
        os.environ.pop("AWS_ENDPOINT_URL", None)
        time.tzset()
        reset_settings()
        reset_tables()
        from datetime import datetime

        set_clock(ManualClock(datetime.fromisoformat("2026-05-06T10:00:00+08:00")))
        mock, stack = _stack()
        try:
            wiring.reset()
            sandbox = build_sandbox()
            wiring.set_wecom_transport(in_process_transport(sandbox))
            body = json.dumps({"title": "双十一备货通知", "content": "各门店请核对备货清单并确认。", "toparty": [1],
                               "sender": "boss", "ack_deadline": "2026-05-07T18:00:00+08:00"}).encode()
            t0 = time.perf_counter()
            resp = stack.http("POST", "/notices", body=body)
            post_s = time.perf_counter() - t0
            assert resp["statusCode"] == 201, resp
            notice = json.loads(resp["body"])
            post_calls = len(sandbox.calls())
            t0 = time.perf_counter()
            stack.drain()
            worker_s = time.perf_counter() - t0
            calls = [c["path"] for c in sandbox.calls()]
            before = len(calls)
            t0 = time.perf_counter()
            got = stack.http("GET", f"/notices/{notice['id']}")
            get_s = time.perf_counter() - t0
            get_calls = len(sandbox.calls()) - before
            assert json.loads(got["body"])["status"] == "sent"
            peer_calls, peer_s = _per_member_peer(wiring.wecom_client(), sandbox)
            return {"stores": stores, "members": notice["recipients"], "post_s": post_s, "post_calls": post_calls,
                    "worker_s": worker_s, "calls": before, "sends": calls.count("message/send"),
                    "budget": 15 + -(-notice["recipients"] // 1000), "get_s": get_s, "get_calls": get_calls,
                    "peer_calls": peer_calls, "peer_s": peer_s}
        finally:
            wiring.reset()
            stack.stop()
            mock.stop()
            from local import motoshim

            motoshim.clear_registry()
            set_clock(None)
            os.environ.clear()
            os.environ.update(saved)
            time.tzset()
            reset_settings()
            reset_tables()


def _per_member_peer(client: Any, sandbox: Any) -> tuple[int, float]:
    """The per-member approach: user/get for every member, department/get for every department."""
    before = len(sandbox.calls())
    t0 = time.perf_counter()
    members = client.user_simplelist(1, fetch_child=True)
    departments = {client.user_get(u).main_department for u in members}
    for dept in departments:
        client.department_get(int(dept))
    return len(sandbox.calls()) - before, time.perf_counter() - t0


def run() -> str:
    rows = [_scenario(n) for n in SIZES]
    lines = ["## Notice to a store network (POST → worker → GET)", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             "| stores | members | POST answer | WeCom calls in POST | worker (store + send) | WeCom calls total "
             "(budget) | message/send | GET answer | WeCom calls in GET | peer: per-member calls | peer calls' time |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['stores']:,} | {r['members']:,} | {r['post_s']:.2f} s | {r['post_calls']} | "
                     f"{r['worker_s']:.1f} s | {r['calls']} ({r['budget']}) | {r['sends']} | {r['get_s']:.2f} s | "
                     f"{r['get_calls']} | {r['peer_calls']:,} | {r['peer_s']:.1f} s |")
    ratios = ", ".join(f"{r['stores']:,}: **{r['peer_calls'] / r['calls']:.0f}×** fewer calls" for r in rows)
    lines += ["", f"WeCom calls, ours vs the per-member peer: {ratios}. Times are in-process moto and sandbox on "
              "this machine (no network); the call counts are what WeCom would see."]
    return "\n".join(lines) + "\n"
