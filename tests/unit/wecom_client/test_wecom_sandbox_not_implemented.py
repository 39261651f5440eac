"""The sandbox-only "not implemented" answer (HTTP 501, errcode 9990501) maps to a clear error:
not a retryable 5xx, not a configuration error that would park sends as if WeCom were misconfigured."""

from __future__ import annotations

import httpx
import pytest

from local.sandbox.directory import load_sandbox_directory
from local.sandbox.runtime import in_process_transport
from local.sandbox.wecom_api import WeComSandbox
from wecom_oa.aws.asl import asl_name
from wecom_oa.errors import ConfigurationError, UpstreamThrottled
from wecom_oa.wecom import errors as e
from wecom_oa.wecom.client import call_once

NOT_IMPLEMENTED = {"errcode": 9990501, "errmsg": "not implemented in the sandbox: the local WeCom sandbox does not "
                   "implement api 'message/send', hint: [1_1_0123456789abcdef], from ip: 127.0.0.1, more info at "
                   "https://open.work.weixin.qq.com/devtool/query?e=9990501"}


def test_given_sandbox_501_not_implemented_when_sending_then_sandbox_error_without_retry(client, router, sleeps):
    router.script("message/send", ("http", 501, NOT_IMPLEMENTED))

    with pytest.raises(e.SandboxNotImplemented) as info:
        client.send_text("x", touser=["u"], duplicate_check=True)  # idempotent: a 5xx would be retried

    exc = info.value
    assert router.count("message/send") == 1 and sleeps == []
    assert exc.errcode == 9990501 and exc.api == "message/send"
    assert "sandbox does not implement" in exc.message
    assert "does not implement api 'message/send'" in exc.errmsg


def test_given_sandbox_not_implemented_error_then_neither_configuration_nor_transient():
    exc = e.error_for(e.SANDBOX_NOT_IMPLEMENTED, NOT_IMPLEMENTED["errmsg"], "user/getuserdetail")

    assert type(exc) is e.SandboxNotImplemented
    assert not isinstance(exc, ConfigurationError | e.WeComConfigError)  # would be parked at once
    assert not isinstance(exc, UpstreamThrottled) and not e.is_retryable(exc)
    assert asl_name(exc) is None  # not re-attempted from the queue either
    assert exc.to_body()["error"]["code"] == "wecom_sandbox_not_implemented"


def test_given_other_501_when_reading_then_still_a_retryable_server_error(client, router):
    router.script("user/get", ("http", 501, {"errcode": 0}))
    assert client.user_get("zhangsan").userid == "zhangsan"  # retried once, then the fixture answers
    assert router.count("user/get") == 2

    router.script("user/get", ("http", 501))
    assert client.user_get("zhangsan").userid == "zhangsan"


def test_given_real_sandbox_when_calling_an_unserved_api_then_sandbox_not_implemented(clock):
    sandbox = WeComSandbox.from_company(load_sandbox_directory(), "wwtest", "secret", 1000002, clock)
    http = httpx.Client(transport=in_process_transport(sandbox))
    base = "https://qyapi.weixin.qq.com/cgi-bin"
    token = call_once(http, "GET", f"{base}/gettoken", "gettoken",
                      params={"corpid": "wwtest", "corpsecret": "secret"})["access_token"]

    with pytest.raises(e.SandboxNotImplemented) as info:
        call_once(http, "POST", f"{base}/message/recall", "message/recall", params={"access_token": token},
                  body={"msgid": "x"})

    assert "message/recall" in info.value.errmsg
