"""gettoken, the token lifecycle, routing and call recording of the WeCom sandbox."""

from __future__ import annotations

import re
import threading

import pytest

from local.sandbox.errcodes import Err
from local.sandbox.wecom_api import TOKEN_TTL_SECONDS
from wecom_oa.wecom import errors as client_errors
from wecom_oa.wecom.errors import SANDBOX_NOT_IMPLEMENTED


@pytest.mark.parametrize(
    ("corpid", "secret", "errcode"),
    [(None, None, 41002), ("wwother", "ok", 40013), ("ok", None, 41004), ("ok", "wrong", 40001)],
)
def test_given_bad_credentials_when_gettoken_then_wecom_errcode_and_no_token(api, corpid, secret, errcode):
    query = {"corpid": api.corp_id if corpid == "ok" else corpid,
             "corpsecret": api.secret if secret == "ok" else secret}
    status, body = api.sandbox.handle("GET", "gettoken", {k: v for k, v in query.items() if v}, b"")

    assert status == 200
    assert body["errcode"] == errcode
    assert body["errmsg"]
    assert "access_token" not in body


def test_given_configured_corp_and_secret_when_gettoken_then_token_valid_for_7200s(api):
    body = api.get("gettoken", corpid=api.corp_id, corpsecret=api.secret, access_token=None)

    assert body["errcode"] == 0
    assert body["expires_in"] == 7200
    assert 0 < len(body["access_token"]) <= 512


def test_given_token_when_clock_passes_expiry_then_42001_and_a_new_token_works(api, clock):
    assert api.get("department/list")["errcode"] == 0

    clock.advance(TOKEN_TTL_SECONDS - 1)
    assert api.get("department/list")["errcode"] == 0
    clock.advance(1)
    assert api.get("department/list")["errcode"] == 42001

    api.token = api.new_token()
    assert api.get("department/list")["errcode"] == 0


def test_given_two_tokens_when_both_used_then_both_valid_until_their_own_expiry(api, clock):
    first = api.token
    clock.advance(3600)
    second = api.new_token()

    assert first != second
    clock.advance(TOKEN_TTL_SECONDS - 3600)
    assert api.get("department/list", access_token=first)["errcode"] == 42001
    assert api.get("department/list", access_token=second)["errcode"] == 0


@pytest.mark.parametrize(("token", "errcode"), [(None, 41001), ("", 41001), ("not-a-token", 40014)])
def test_given_missing_or_unknown_token_when_calling_api_then_41001_or_40014(api, token, errcode):
    assert api.get("department/list", access_token=token)["errcode"] == errcode


def test_given_revoked_tokens_when_calling_then_40014_like_an_early_invalidation(api, sandbox):
    sandbox.revoke_tokens()

    assert api.get("department/list")["errcode"] == 40014


@pytest.mark.parametrize(("method", "path"), [("POST", "message/sendx"), ("GET", "user/getuserdetail"),
                                              ("POST", "message/recall")])
def test_given_unknown_path_when_called_then_http_501_sandbox_not_implemented_not_a_wecom_permission_error(
        api, method, path):
    status, body = api.sandbox.handle(method, path, {"access_token": api.token}, b"{}")

    assert status == 501
    assert body["errcode"] == SANDBOX_NOT_IMPLEMENTED == 9990501
    assert body["errcode"] not in (48001, 48002, 60011, 301002)  # WeCom's permission errors
    assert f"does not implement api '{path}'" in body["errmsg"]
    assert "sandbox" in body["errmsg"]
    assert api.sandbox.calls()[-1]["errcode"] == 9990501


def test_given_sandbox_and_client_when_comparing_not_implemented_errcode_then_the_same():
    assert int(Err.SANDBOX_NOT_IMPLEMENTED) == client_errors.SANDBOX_NOT_IMPLEMENTED


@pytest.mark.parametrize(("method", "path", "errcode"), [("POST", "gettoken", 43001), ("GET", "message/send", 43002)])
def test_given_wrong_http_method_when_called_then_require_get_or_post(api, method, path, errcode):
    _, body = api.sandbox.handle(method, path, {"access_token": api.token}, b"{}")

    assert body["errcode"] == errcode


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_given_malformed_json_when_posting_then_47001_with_wrong_json_hint(api, raw):
    body = api.post("message/send", raw)

    assert body["errcode"] == 47001
    assert "wrong json format" in body["errmsg"]


def test_given_calls_when_listing_then_recorded_in_order_with_secrets_redacted(api):
    api.send_text()
    api.post("webhook/send", {"msgtype": "text", "text": {"content": "hi"}}, key="robot-key-project-0001",
             access_token=None)

    calls = api.sandbox.calls()

    assert [c["path"] for c in calls] == ["gettoken", "message/send", "webhook/send"]
    assert [c["seq"] for c in calls] == [1, 2, 3]
    assert calls[0]["query"]["corpsecret"] == "***"
    assert calls[1]["query"]["access_token"] == "***"
    assert calls[1]["body"]["msgtype"] == "text"
    assert calls[2]["query"]["key"] == "project-group"
    assert all(c["errcode"] == 0 for c in calls)
    flat = repr(calls)
    assert api.secret not in flat and api.token not in flat and "robot-key-project-0001" not in flat


def test_given_errmsg_when_error_then_points_to_wecom_errcode_lookup(api):
    body = api.get("department/list", access_token="x")

    assert body["errmsg"].endswith("devtool/query?e=40014")


_WECOM_ERRMSG = re.compile(r"^(?P<reason>.+), hint: \[(?P<hint>\d+_\d+_[0-9a-f]{16})\], from ip: "
                           r"(?P<ip>[0-9.]+), more info at https://open\.work\.weixin\.qq\.com/devtool/query"
                           r"\?e=(?P<code>-?\d+)$")


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "errcode"),
    [("GET", "gettoken", {"corpid": "wwother", "corpsecret": "x"}, b"", 40013),
     ("GET", "department/list", {"access_token": "bad"}, b"", 40014),
     ("GET", "user/get", {"userid": "ghost"}, b"", 60111),
     ("POST", "message/send", {}, b"{not json", 47001),
     ("POST", "message/send", {}, b'{"agentid": 1000002, "touser": "dev1", "msgtype": "markdown", '
                                  b'"markdown": {"content": "' + b"a" * 2049 + b'"}}', 45002),
     ("GET", "message/send", {}, b"", 43002),
     ("POST", "not/served", {}, b"{}", 9990501)],
)
def test_given_any_error_when_answered_then_errmsg_has_wecom_shape(api, method, path, query, body, errcode):
    query = {"access_token": api.token, **query}

    _, answer = api.sandbox.handle(method, path, query, body)

    assert answer["errcode"] == errcode
    match = _WECOM_ERRMSG.match(answer["errmsg"])
    assert match, answer["errmsg"]
    assert match["code"] == str(errcode)
    assert match["ip"] == "127.0.0.1"
    assert not match["reason"].endswith(",")


def test_given_same_calls_on_two_sandboxes_then_hints_equal_and_differ_per_call(make_api):
    first, second = make_api(), make_api()

    a1, a2 = (api.get("user/get", userid="ghost")["errmsg"] for api in (first, second))
    again = first.get("user/get", userid="ghost")["errmsg"]

    assert a1 == a2  # deterministic: the clock, the call's sequence number, the path and the errcode
    assert again != a1
    assert _WECOM_ERRMSG.match(again)["hint"].split("_")[:2] == ["1772413200", "3"]


def test_given_malformed_json_when_answered_then_wrong_json_warning_leads_the_errmsg(api):
    body = api.post("message/send", b"{not json")

    assert body["errmsg"].startswith("Warning: wrong json format. data format error, hint: [")


def test_given_injected_errcode_fault_when_answered_then_errmsg_has_wecom_shape(api):
    api.sandbox.faults.add({"path": "message/send", "errcode": 45009, "times": 1})

    body = api.send_text()

    assert body["errcode"] == 45009
    assert _WECOM_ERRMSG.match(body["errmsg"])["code"] == "45009"


def test_given_threads_sending_at_once_when_done_then_every_message_recorded_once_in_sequence(api, sandbox):
    errors: list[int] = []

    def worker() -> None:
        for _ in range(20):
            errors.append(api.send_text()["errcode"])

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    messages = sandbox.messages()
    assert set(errors) == {0}
    assert [m["seq"] for m in messages] == list(range(1, 161))
    assert len({m["msgid"] for m in messages}) == 160


def test_given_returned_records_when_mutated_then_sandbox_state_unchanged(api):
    api.send_text()
    api.sandbox.messages()[0]["content"] = "changed"

    assert api.sandbox.messages()[0]["content"] == "你好"
