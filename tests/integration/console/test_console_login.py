"""Console login through WeCom (OAuth2 inside the client, QR on a PC) and the session cookie:
what a forged, replayed, expired or cross-site attempt gets (login again or 403, nothing changed)."""

from __future__ import annotations

import time
import types
from urllib.parse import urlencode

from tests.integration.console.conftest import BASE, Browser


def test_given_no_session_when_a_page_is_opened_then_sent_to_login_and_back_after(browser) -> None:
    b = browser()
    page = b.get("/console/tickets?team=tech_support")

    assert page.status == 302
    assert page.headers["location"] == "/console/auth/login?" + urlencode({"next": "/console/tickets?team=tech_support"})
    landed = b.login("lina", "/console/tickets?team=tech_support")
    assert landed.status == 200 and "工单中心" in landed.text and "李娜 · 部门负责人" in landed.text


def test_given_a_pc_browser_then_qr_login_and_inside_wecom_then_silent_oauth(console) -> None:
    pc = Browser(console).start_login()
    assert pc["url"].startswith(f"{BASE}/_sandbox/wwlogin/sso/login?")
    assert pc["login_type"] == "CorpApp" and pc["redirect_uri"] == f"{BASE}/console/auth/callback" and pc["state"]
    assert pc["agentid"] == "1000002" and pc["appid"] == "ww5a1d0c0ffee0b0a7"

    mobile = Browser(console, "Mozilla/5.0 (iPhone) wxwork/4.1.30 MicroMessenger/7.0.1").start_login()
    assert mobile["url"].startswith(f"{BASE}/_sandbox/connect/oauth2/authorize?") and mobile["url"].endswith("#wechat_redirect")
    assert mobile["scope"] == "snsapi_base" and mobile["response_type"] == "code"


def test_given_a_used_code_when_replayed_then_refused_and_no_session(browser, console) -> None:
    first = browser()
    wecom = first.start_login()
    code = console.sandbox.issue_login_code("zhangsan")
    assert first.get(f"/console/auth/callback?{urlencode({'code': code, 'state': wecom['state']})}").status == 302

    second = browser()
    state = second.start_login()["state"]
    page = second.get(f"/console/auth/callback?{urlencode({'code': code, 'state': state})}")
    assert page.status == 403 and "登录凭证已使用或已过期" in page.text
    assert "oa_console" not in second.cookies
    assert second.get("/console").status == 302


def test_given_a_callback_this_browser_did_not_start_then_refused(browser, console) -> None:
    victim = browser()
    code = console.sandbox.issue_login_code("zhangsan")
    attacker_state = browser().start_login()["state"]
    page = victim.get(f"/console/auth/callback?{urlencode({'code': code, 'state': attacker_state})}")

    assert page.status == 403 and "请重新登录" in page.text and "oa_console" not in victim.cookies


def test_given_a_forged_or_tampered_session_then_login_again(browser) -> None:
    b = browser()
    b.login("zhangsan")
    good = b.cookies["oa_console"]
    for forged in ("eyJ1IjoibGl1eWFuZyIsImMiOiJ4In0.AAAAAA.forged", good[:-2] + ("AA" if not good.endswith("AA") else "BB")):
        b.cookies["oa_console"] = forged
        assert b.get("/console").status == 302


def test_given_an_expired_session_then_login_again(browser, monkeypatch) -> None:
    import itsdangerous.timed

    b = browser()
    assert b.login("zhangsan").status == 200
    later = time.time() + 8 * 3600 + 60  # config/console.yaml: session_hours 8 (wall time)
    monkeypatch.setattr(itsdangerous.timed, "time", types.SimpleNamespace(time=lambda: later))

    assert b.get("/console").status == 302


def test_given_a_member_who_left_then_refused(browser, console) -> None:
    b = browser()
    state = b.start_login()["state"]
    code = console.sandbox.issue_login_code("zhouxin")  # status 5 in the demo company
    page = b.get(f"/console/auth/callback?{urlencode({'code': code, 'state': state})}")

    assert page.status == 403 and "不在本应用的可见范围内" in page.text and "oa_console" not in b.cookies


def test_given_a_post_without_the_csrf_token_then_403_and_nothing_changed(browser) -> None:
    b = browser()
    b.login("zhangsan")
    page = b.post("/console/auth/logout", {})
    assert page.status == 403
    assert b.get("/console").status == 200  # still logged in

    home = b.get("/console")
    assert b.post("/console/auth/logout", {"csrf": home.csrf()}).status == 200
    assert b.get("/console").status == 302


def test_given_the_sandbox_login_page_then_it_checks_appid_and_trusted_domain(console) -> None:
    from local.sandbox import login

    class Args(dict):
        pass

    good = {"appid": "ww5a1d0c0ffee0b0a7", "redirect_uri": f"{BASE}/console/auth/callback", "login_type": "CorpApp",
            "state": "s"}
    status, _, body = login.login_page("qr", Args(good), console.sandbox, "ww5a1d0c0ffee0b0a7", "console.test")
    assert status == 200 and "李娜" in body and "lina" in body
    status, _, body = login.login_page("qr", Args({**good, "redirect_uri": "https://evil.example/cb"}), console.sandbox,
                                       "ww5a1d0c0ffee0b0a7", "console.test")
    assert status == 400 and "可信域名" in body
    status, headers, _ = login.pick(Args({"userid": "lina", "redirect_uri": good["redirect_uri"], "state": "s"}),
                                    console.sandbox, "console.test")
    assert status == 302 and headers["location"].startswith(f"{BASE}/console/auth/callback?code=") and "state=s" in headers["location"]


def test_given_no_public_base_url_then_the_callback_is_on_the_host_the_browser_used(console, monkeypatch) -> None:
    from urllib.parse import parse_qs, urlsplit

    from wecom_oa.settings import reset_settings

    monkeypatch.delenv("OA_PUBLIC_BASE_URL")
    reset_settings()
    resp = console.stack.http("GET", "/console/auth/login", headers={"host": "oa.xingchen.example"})
    query = parse_qs(urlsplit(resp["headers"]["location"]).query)
    assert query["redirect_uri"] == ["https://oa.xingchen.example/console/auth/callback"]
