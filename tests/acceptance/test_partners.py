"""Upstream/downstream (上下游): members of partner corps — a partner factory, a dealer — get the
company's notices as the shared app in their own corp, acknowledge them there, and the read rate
is kept per partner organisation beside the company's own departments."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_a_partner_factory_member_receives_a_notice_and_acknowledges_it(start_company) -> None:
    company = start_company("2026-12-08T10:00:00+08:00",
                            people=["wwpartner0001:wangchang", "wwpartner0001:lizhi", "wwpartner0002:zhaolaoban",
                                    "xuming"])
    notice = company.api("POST", "/notices", {
        "title": "春节前来料检验标准更新", "content": "自12月15日起轴承座来料按新版检验标准执行，请确认。",
        "sender": "xuming", "touser": ["hegang"],
        "partners": [{"corp": "wwpartner0001", "users": ["wangchang", "lizhi"]},
                     {"corp": "wwpartner0002", "users": ["zhaolaoban"]}]}, expect=201)
    assert notice["recipients"] == 4
    company.settle()
    card = company.card("wwpartner0001:wangchang", "春节前来料检验标准更新")
    messages = company.call("GET", "/_sandbox/messages")[1]
    assert [m["corp"] for m in messages if m.get("task_id") == card["task_id"]] == ["wwpartner0001"]
    assert company.card("wwpartner0002:zhaolaoban", "春节前来料检验标准更新")

    company.click("wwpartner0001:wangchang", card["task_id"], card["keys"][0])
    assert "已" in company.card("wwpartner0001:wangchang", "春节前来料检验标准更新")["text"].splitlines()[-1]
    report = company.api("GET", f"/notices/{notice['id']}", expect=200)
    assert (report["recipients"], report["acknowledged"]) == (4, 1)
    by_partner = {p["corp"]: p for p in report["by_partner"]}
    assert by_partner["wwpartner0001"]["partner"] == "华丰代工厂"
    assert (by_partner["wwpartner0001"]["acknowledged"], by_partner["wwpartner0001"]["total"]) == (1, 2)
    assert by_partner["wwpartner0002"]["acknowledged"] == 0
    assert "wwpartner0001:lizhi" in report["pending"] and "wwpartner0001:wangchang" not in report["pending"]

    company.click("wwpartner0001:wangchang", card["task_id"], card["keys"][0])
    assert company.api("GET", f"/notices/{notice['id']}", expect=200)["acknowledged"] == 1, "a second click counts once"
    company.advance("2d")  # the follow-ups run for the company's own members; partners are not in its directory
    assert company.api("GET", f"/notices/{notice['id']}", expect=200)["recipients"] == 4


def test_a_notice_to_a_corp_that_does_not_share_the_app_is_refused(start_company) -> None:
    company = start_company("2026-12-08T10:00:00+08:00")
    status, body = company.call("POST", "/notices", {
        "title": "测试", "content": "内容", "sender": "xuming",
        "partners": [{"corp": "wwnobody", "users": ["someone"]}]})
    assert status == 400 and "partners[0].corp" in body["error"]["message"], body
    assert company.call("GET", "/_sandbox/messages")[1] == []
