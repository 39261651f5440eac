"""The callback endpoint through the deployed-in-moto stack: official vectors over the HTTP route,
duplicate-proof delivery (also concurrent), and mutated requests that never 5xx nor store.

Tencent's vectors are signed in 2014/2016: each test sets the process clock to its vector's signed
timestamp, so they verify with the freshness check on (tests/adversarial/test_callback_hardening.py
covers the window itself)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VECTORS = Path(__file__).resolve().parents[1] / "fixtures" / "wecom_vectors"
OFFICIAL = {v["id"]: v for v in json.loads((VECTORS / "official_vectors.json").read_text(encoding="utf-8"))}


def _use_vector_identity(monkeypatch: pytest.MonkeyPatch, vector: dict) -> None:
    """The vector's app identity, and the process clock at the vector's signed timestamp."""
    from datetime import UTC, datetime

    from wecom_oa import wiring
    from wecom_oa.clock import ManualClock, set_clock
    from wecom_oa.settings import reset_settings

    set_clock(ManualClock(datetime.fromtimestamp(int(vector["query_params_decoded"]["timestamp"]), UTC)))
    monkeypatch.setenv("WECOM_TOKEN", vector["token"])
    monkeypatch.setenv("WECOM_ENCODING_AES_KEY", vector["encoding_aes_key"])
    monkeypatch.setenv("WECOM_CORP_ID", vector["receive_id"])
    reset_settings()
    wiring.reset()


def _stored_events(stack) -> list[dict]:
    ddb = stack.client("dynamodb")
    items = ddb.scan(TableName=stack.physical["AppTable"]["Ref"])["Items"]
    return [i for i in items if i["pk"]["S"].startswith("EVENT#")]


def _queued(stack) -> int:
    sqs = stack.client("sqs")
    attrs = sqs.get_queue_attributes(QueueUrl=stack.physical["EventsQueue"]["Ref"],
                                     AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


@pytest.mark.parametrize("vid", ["official_2014_url_verification", "official_2016_url_verification"])
def test_get_echo_answers_the_bare_plaintext(local_stack, monkeypatch, vid) -> None:
    vector = OFFICIAL[vid]
    _use_vector_identity(monkeypatch, vector)
    resp = local_stack.http("GET", "/wecom/callback", query=vector["raw_query_string"])
    assert resp["statusCode"] == 200
    assert resp["body"] == vector["expected_plaintext"]
    assert resp["headers"]["content-type"].startswith("text/plain")


def _post(stack, vector: dict, *, body: str | None = None, query: str | None = None) -> dict:
    from urllib.parse import urlencode

    return stack.http("POST", "/wecom/callback", body=(body if body is not None else vector["http_body"]).encode(),
                      query=query if query is not None else urlencode(vector["query_params_decoded"]))


def test_post_stores_and_enqueues_once_even_when_delivered_three_times_concurrently(local_stack, monkeypatch) -> None:
    vector = OFFICIAL["official_2016_post_text_utf8"]
    _use_vector_identity(monkeypatch, vector)
    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(_post(local_stack, vector))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r["statusCode"] for r in results] == [200, 200, 200]
    assert all(r["body"] == "" for r in results)
    events = _stored_events(local_stack)
    assert [e["pk"]["S"] for e in events] == ["EVENT#msg:1000002:1456453720"]
    assert _queued(local_stack) == 1


def test_bad_signature_and_wrong_receive_id_are_403_and_store_nothing(local_stack, monkeypatch) -> None:
    vector = OFFICIAL["official_2014_post_text"]
    _use_vector_identity(monkeypatch, vector)
    bad_sig = dict(vector["query_params_decoded"], msg_signature="0" * 40)
    from urllib.parse import urlencode

    assert _post(local_stack, vector, query=urlencode(bad_sig))["statusCode"] == 403
    monkeypatch.setenv("WECOM_CORP_ID", "ww0000000000000000")
    from wecom_oa import wiring
    from wecom_oa.settings import reset_settings

    reset_settings()
    wiring.reset()
    assert _post(local_stack, vector)["statusCode"] == 403
    assert _stored_events(local_stack) == [] and _queued(local_stack) == 0


@pytest.mark.parametrize(("body", "status"), [
    ("<xml><Encrypt>", 400),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><xml><Encrypt>&b;</Encrypt></xml>', 400),
    ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Encrypt>&e;</Encrypt></xml>', 400),
    ("x" * 200_000, 413),
    ("", 400),
])
def test_malformed_hostile_and_oversize_bodies_are_4xx_and_store_nothing(local_stack, monkeypatch, body, status) -> None:
    vector = OFFICIAL["official_2014_post_text"]
    _use_vector_identity(monkeypatch, vector)
    assert _post(local_stack, vector, body=body)["statusCode"] == status
    assert _stored_events(local_stack) == []


def test_missing_query_parameters_are_400(local_stack, monkeypatch) -> None:
    _use_vector_identity(monkeypatch, OFFICIAL["official_2014_post_text"])
    assert _post(local_stack, OFFICIAL["official_2014_post_text"], query="timestamp=1")["statusCode"] == 400


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=600).map(lambda b: b.decode("latin-1")),
                      st.text(max_size=300).map(lambda t: f"<xml><Encrypt><![CDATA[{t}]]></Encrypt></xml>")),
       query=st.dictionaries(st.sampled_from(["msg_signature", "timestamp", "nonce", "echostr", "x"]),
                             st.text(max_size=40), max_size=4))
def test_fuzzed_requests_never_5xx_and_never_store(local_stack, monkeypatch, body, query) -> None:
    from urllib.parse import urlencode

    _use_vector_identity(monkeypatch, OFFICIAL["official_2014_post_text"])
    for method in ("POST", "GET"):
        resp = local_stack.http(method, "/wecom/callback", body=body.encode("utf-8", "surrogatepass"),
                                query=urlencode(query))
        assert 400 <= resp["statusCode"] < 500, resp
    assert _stored_events(local_stack) == []
