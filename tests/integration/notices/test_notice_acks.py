"""Notices end to end: POST /notices → ack cards → clicks → GET /notices/{id} → follow-up schedule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.integration.digests.support import shanghai

RECIPIENTS = ["zhangsan", "lisi", "sunxiaomei", "huangwei"]  # 华东一组 ×3 (leader lina), 华南大区 ×1


def _post_notice(app, **extra) -> str:
    body = {"title": "国庆后复工安排", "content": "请阅读复工安排并确认。", "touser": RECIPIENTS,
            "sender": "wangjianguo", "ack_deadline": "2025-10-10T09:00:00+08:00", **extra}
    status, created = app.http("POST", "/notices", body)
    assert status == 201, created
    app.stack.drain()  # the events worker sends the cards
    return created["id"]


def _ack_cards(app) -> list[dict]:
    return [m for m in app.messages() if m["msgtype"] == "template_card" and m.get("task_id")]


def _texts_to(app, needle: str) -> list[list[str]]:
    return [m["recipients"]["userids"] for m in app.messages() if needle in (m.get("content") or "")]


def test_given_a_notice_when_recipients_acknowledge_then_rates_are_exact_overall_and_per_department(local_app):
    notice_id = _post_notice(local_app)
    [card] = _ack_cards(local_app)
    assert sorted(card["recipients"]["userids"]) == sorted(RECIPIENTS)
    assert card["card"]["button_list"][0]["key"] == "ack"

    local_app.click("zhangsan", card["task_id"], "ack")
    local_app.click("zhangsan", card["task_id"], "ack")  # a second click counts once
    local_app.click("huangwei", card["task_id"], "ack")
    local_app.click("wangjianguo", card["task_id"], "ack")  # not a recipient: ignored
    status, stats = local_app.http("GET", f"/notices/{notice_id}")

    assert status == 200
    assert (stats["recipients"], stats["acknowledged"]) == (4, 2)
    assert stats["ack_rate"] == pytest.approx(0.5)
    assert sorted(stats["pending"]) == ["lisi", "sunxiaomei"]
    by_dept = {d["department"]: (d["acknowledged"], d["total"], d["ack_rate"]) for d in stats["by_department"]}
    assert by_dept["华东一组"] == (1, 3, pytest.approx(1 / 3))
    assert by_dept["华南大区"] == (1, 1, pytest.approx(1.0))
    updates = [m for m in local_app.messages() if m.get("replace_name")]
    assert [u["replace_name"] for u in updates] == ["已确认", "已确认"]  # zhangsan once, huangwei once


def test_given_an_unknown_recipient_when_posting_a_notice_then_400_names_it(local_app):
    status, body = local_app.http("POST", "/notices", {"title": "t", "content": "c", "touser": ["ghost"],
                                                       "sender": "wangjianguo", "ack_deadline": "2025-10-10T09:00:00+08:00"})

    assert status == 400 and "touser[0]=ghost" in body["error"]["message"]


def test_given_pending_recipients_when_the_followup_runs_repeatedly_then_each_stage_happens_once(local_app, clock):
    notice_id = _post_notice(local_app, nudge_after=60, escalate_after=120)
    [card] = _ack_cards(local_app)
    local_app.click("zhangsan", card["task_id"], "ack")

    clock.advance(timedelta(minutes=30))
    local_app.stack.fire("notice-followup")
    assert _texts_to(local_app, "您尚未确认通知") == []  # too early

    clock.advance(timedelta(minutes=31))
    local_app.stack.fire("notice-followup")
    local_app.stack.fire("notice-followup")  # double fire in the same window
    clock.advance(timedelta(minutes=15))
    local_app.stack.fire("notice-followup")
    [nudged] = _texts_to(local_app, "您尚未确认通知")
    assert sorted(nudged) == ["huangwei", "lisi", "sunxiaomei"]

    clock.advance(timedelta(minutes=60))
    local_app.stack.fire("notice-followup")
    local_app.stack.fire("notice-followup")
    notes = _texts_to(local_app, "您团队中有")
    assert sorted(notes) == [["lina"], ["wangjianguo"]]  # lisi+sunxiaomei → lina; huangwei → 总经理

    clock.set(shanghai("2025-10-10 09:00"))
    local_app.stack.fire("notice-followup")
    local_app.stack.fire("notice-followup")
    finals = [m for m in local_app.messages() if "确认情况" in (m.get("content") or "")]
    assert len(finals) == 1 and finals[0]["recipients"]["userids"] == ["wangjianguo"]
    assert "确认率 **25.0%**" in finals[0]["content"]
    assert len(_texts_to(local_app, "您尚未确认通知")) == 1 and len(_texts_to(local_app, "您团队中有")) == 2
    status, stats = local_app.http("GET", f"/notices/{notice_id}")
    assert stats["closed"] is True


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """Li Ning's shape: 6000 store departments under 60 regions, 6061 members (before `local_app`)."""
    from local.sandbox.generate import write

    monkeypatch.setenv("SANDBOX_DIRECTORY", str(write(tmp_path / "stores.yaml", 6000, 60)))
    return 6061


def test_given_6000_stores_when_a_notice_goes_to_all_then_few_wecom_calls_and_counters_answer(stores, local_app, clock):
    status, created = local_app.http("POST", "/notices", {
        "title": "双十一备货通知", "content": "各门店请核对备货清单并确认。", "toparty": [1], "sender": "boss",
        "ack_deadline": "2025-10-10T18:00:00+08:00"})
    assert status == 201 and created["recipients"] == stores and created["status"] == "sending"
    answered = len(local_app.sandbox.calls())
    assert answered <= 5, [c["path"] for c in local_app.sandbox.calls()]  # token + directory list calls, no send
    local_app.stack.drain()  # the events worker stores the recipients and sends the cards

    calls = [c["path"] for c in local_app.sandbox.calls()]
    assert len(calls) <= 15 + 7, sorted(set(calls))  # ≤ 15 + ⌈N/1000⌉
    assert calls.count("message/send") == 7 and calls.count("user/get") <= 1 and "department/get" not in calls
    cards = _ack_cards(local_app)
    assert sorted(len(c["recipients"]["userids"]) for c in cards) == [61] + [1000] * 6

    # two store managers acknowledge; the report reads counters, not the directory
    for userid in ("s00001", "s00061"):
        card = next(c for c in cards if userid in c["recipients"]["userids"])
        local_app.click(userid, card["task_id"], "ack")
    before = len(local_app.sandbox.calls())
    status, got = local_app.http("GET", f"/notices/{created['id']}")
    assert status == 200 and len(local_app.sandbox.calls()) == before
    assert (got["recipients"], got["acknowledged"], got["status"]) == (stores, 2, "sent")
    assert len(got["by_region"]) == 61 and "by_department" not in got and "pending" not in got
    region_one = next(r for r in got["by_region"] if r["region"] == "华东1区")
    assert (region_one["acknowledged"], region_one["total"], region_one["departments"]) == (2, 101, 101)

    # the final report is a summary within one WeCom message, however many stores
    clock.set(shanghai("2025-10-10 18:00"))
    local_app.stack.fire("notice-followup")
    [final] = [m for m in local_app.messages() if "确认情况" in (m.get("content") or "")]
    assert final["recipients"]["userids"] == ["boss"]
    assert len(final["content"].encode()) <= 2048 and "确认率最低的 5 个区域" in final["content"]
    assert "未确认 6059 人" in final["content"] and final["content"].count("第") <= 10
