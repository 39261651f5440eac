"""Secrets never reach logs: a representative flow (ticket created with WeCom sends, a token revoked
mid-run, a card click, a callback POST with the official vector identity) with every log line
captured (caplog, stdout/stderr, and every logging handler's stream, as formatted), then no
configured secret nor any access token the sandbox issued appears anywhere."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from urllib.parse import urlencode

import httpx

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "wecom_vectors"


def _tee_all_handlers(monkeypatch, sink: io.StringIO) -> None:
    """Point every stream handler (powertools' JSON ones included) at `sink` for the test."""
    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for handler in lg.handlers:
            if isinstance(handler, logging.StreamHandler) and not type(handler).__module__.startswith("_pytest"):
                monkeypatch.setattr(handler, "stream", sink)


def _recording_transport(sandbox, issued: list[str]) -> httpx.MockTransport:
    def handle(request: httpx.Request) -> httpx.Response:
        sub = request.url.path.split("/cgi-bin/", 1)[-1]
        status, payload = sandbox.handle(request.method, sub, dict(request.url.params), request.content)
        if sub == "gettoken" and isinstance(payload, dict) and payload.get("access_token"):
            issued.append(payload["access_token"])
        return httpx.Response(status, json=payload)

    return httpx.MockTransport(handle)


def test_given_a_representative_flow_when_all_logs_are_captured_then_no_secret_or_token_appears(
        local_app, monkeypatch, caplog, capfd) -> None:
    from wecom_oa import wiring
    from wecom_oa.settings import get_settings, reset_settings

    s = get_settings()
    secrets = {s.wecom_secret.get_secret_value(), s.wecom_token.get_secret_value(),
               s.wecom_encoding_aes_key.get_secret_value()}
    issued: list[str] = []
    wiring.reset()
    wiring.set_wecom_transport(_recording_transport(local_app.sandbox, issued))
    sink = io.StringIO()
    _tee_all_handlers(monkeypatch, sink)
    # Our code and the HTTP stack it configures are read at DEBUG; third-party libraries at INFO, the
    # level Lambda runs at (botocore's DEBUG wire log prints DynamoDB items, the token store's included).
    caplog.set_level(logging.INFO)
    for name in ("wecom_oa", "wecom-oa", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)

    # Given a ticket created (card to the handler), WeCom revoking the token, and an action
    status, ticket = local_app.http("POST", "/tickets", {
        "type": "repair", "title": "空压机漏气", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "空压机", "location": "二号厂房"}})
    assert status == 201, ticket
    local_app.sandbox.revoke_tokens()
    status, _ = local_app.http("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})
    assert status == 200
    local_app.stack.drain()
    # ... and a card click, encrypted with the configured token and AES key
    card = next(m for m in local_app.messages() if m["msgtype"] == "template_card")
    local_app.click(card["recipients"]["userids"][0], card["task_id"], "accept")
    # When a callback arrives with the official vector identity (bad and good signatures)
    vector = next(v for v in json.loads((VECTORS / "official_vectors.json").read_text(encoding="utf-8"))
                  if v["id"] == "official_2016_post_text_utf8")
    monkeypatch.setenv("WECOM_TOKEN", vector["token"])
    monkeypatch.setenv("WECOM_ENCODING_AES_KEY", vector["encoding_aes_key"])
    monkeypatch.setenv("WECOM_CORP_ID", vector["receive_id"])
    reset_settings()
    wiring.reset()
    secrets |= {vector["token"], vector["encoding_aes_key"]}
    query = urlencode(vector["query_params_decoded"])
    # (at the vector's signed time, so the 2016 sample passes the freshness check)
    from datetime import UTC, datetime

    from wecom_oa.clock import ManualClock, get_clock, set_clock

    flow_clock = get_clock()
    set_clock(ManualClock(datetime.fromtimestamp(int(vector["query_params_decoded"]["timestamp"]), UTC)))
    assert local_app.stack.http("POST", "/wecom/callback", body=vector["http_body"].encode(),
                                query=query)["statusCode"] == 200
    local_app.stack.http("POST", "/wecom/callback", body=vector["http_body"].encode(),
                         query=query.replace("msg_signature=", "msg_signature=0"))
    set_clock(flow_clock)
    local_app.stack.drain()

    # Then the flow really did log and fetch tokens, and none of the secrets is in any of it
    out, err = capfd.readouterr()
    logged = "\n".join([sink.getvalue(), out, err] + [f"{r.getMessage()} {r.__dict__}" for r in caplog.records])
    assert len(issued) >= 2, "the revocation forced a second token"
    assert "wecom token" in logged  # the refresh was logged (without the token)
    leaked = [x for x in secrets | set(issued) if x and x in logged]
    assert not leaked, f"{len(leaked)} secret value(s) found in the logs"
