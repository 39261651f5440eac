"""Notices end to end: POST /notices → ack cards → clicks → GET /notices/{id} → follow-up schedule."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from tests.integration.digests.support import shanghai

RECIPIENTS = ["zhangsan", "lisi", "sunxiaomei", "huangwei"]  # 华东一组 ×3 (leader lina), 华南大区 ×1


def _post_notice(app, **extra) -> str:
    body = {"title": "国庆后复工安排", "content": "请阅读复工安排并确认。", "touser": RECIPIENTS,
            "sender": "wangjianguo", "ack_deadline": "2025-10-10T09:00:00+08:00", **extra}
    status, created = app.http("POST", "/notices", body)
    assert status == 201, created
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
def big_company(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    """A sandbox company of 6000 people in 6 departments (requested before `local_app`)."""
    size = 6000
    departments = [{"id": 1, "name": "总部"}] + [{"id": d, "name": f"车间{d}", "parentid": 1} for d in range(2, 8)]
    users = [{"userid": f"u{i:05d}", "name": f"员工{i}", "departments": [2 + i % 6], "main_department": 2 + i % 6}
             for i in range(size)]
    path = tmp_path / "big_company.yaml"
    path.write_text(yaml.safe_dump({"departments": departments, "users": users}, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("SANDBOX_DIRECTORY", str(path))
    return size


def test_given_6000_recipients_when_a_notice_is_posted_then_six_message_send_calls_are_made(big_company, local_app):
    status, created = local_app.http("POST", "/notices", {
        "title": "安全生产通知", "content": "请确认。", "toparty": [1], "sender": "u00000", "ack_deadline": "2025-10-10T09:00:00+08:00"})

    assert status == 201 and created["recipients"] == big_company
    sends = [c for c in local_app.sandbox.calls() if c["path"] == "message/send"]
    assert len(sends) == 6
    cards = _ack_cards(local_app)
    assert len({c["task_id"] for c in cards}) == 6
    assert sorted(len(c["recipients"]["userids"]) for c in cards) == [1000] * 6
