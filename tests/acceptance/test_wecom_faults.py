"""Nothing lost, nothing doubled when WeCom misbehaves. The shipped company runs as `make run` starts
it; a fault is injected between the product and WeCom over HTTP (`POST /_sandbox/faults`) while a
ticket, an approval, a notice and a to-do are created through the public API. After the fault is
over, every person finds each of their cards exactly once in WeCom, and nothing is left parked.
A configuration error (60020, IP not trusted) parks the sends instead; the operator replays them
after the fix (`POST /outbox/parked/{id}/replay`) and they arrive once."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

pytestmark = pytest.mark.slow

WEDNESDAY = "2026-05-06T10:00:00+08:00"
PEOPLE = ["zhangsan", "lina", "chenjing", "wangwu"]

FAULTS = {
    "throttled-45009-for-30-min": {"errcode": 45009, "seconds": 1800},
    "concurrency-45033": {"errcode": 45033, "times": 6},
    "busy": {"errcode": -1, "times": 6},
    "http-502": {"kind": "http_status", "http_status": 502, "times": 6},
    "timeout": {"kind": "timeout", "times": 4},
    "reset-before-landing": {"kind": "reset", "times": 4},
    "reset-after-landing": {"kind": "reset", "after": True, "times": 4},
    "garbage-after-landing": {"kind": "garbage", "after": True, "times": 4},
}


def _work(company: Any) -> dict[str, Any]:
    """One of each: a repair ticket (card to zhangsan's team), an expense (card to lina), a notice
    with acknowledgement (cards to chenjing and wangwu), a to-do (card to wangwu)."""
    ticket = company.call("POST", "/tickets", {
        "type": "repair", "title": "3号产线传送带异响", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "传送带", "location": "三号车间"}})
    approval = company.call("POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                                   "form": {"amount": 420, "reason": "劳保手套"}})
    notice = company.call("POST", "/notices", {"title": "消防演练通知", "content": "周五下午三点全员参加消防演练。",
                                               "sender": "wangjianguo", "touser": ["chenjing", "wangwu"]})
    task = company.call("POST", "/tasks", {"title": "补录五月巡检记录", "owner": "wangwu", "source": "erp",
                                           "group": "service-desk", "due_at": "2026-05-08T17:00:00+08:00"})
    for status, body in (ticket, approval, notice, task):
        assert status == 201, body
    company.settle()
    return {"ticket": ticket[1], "approval": approval[1], "notice": notice[1], "task": task[1]}


def _cards(company: Any, userid: str, text: str) -> list[str]:
    return [e["task_id"] for e in company.inbox(userid) if e.get("task_id") and text in e["text"]]


def _expected(company: Any) -> Counter:
    return Counter({("zhangsan", "3号产线传送带异响"): 1, ("lina", "劳保手套"): 1, ("chenjing", "消防演练通知"): 1,
                    ("wangwu", "消防演练通知"): 1, ("wangwu", "补录五月巡检记录"): 1})


def _seen(company: Any) -> Counter:
    return Counter({(userid, text): len(_cards(company, userid, text)) for userid, text in _expected(company)})


def _fault(company: Any, spec: dict[str, Any]) -> dict[str, Any]:
    status, body = company.call("POST", "/_sandbox/faults", {"path": "message/send", **spec})
    assert status == 201, body
    return body


@pytest.mark.parametrize("name", list(FAULTS))
def test_every_card_arrives_exactly_once_after_a_wecom_fault(start_company, name) -> None:
    company = start_company(WEDNESDAY, people=PEOPLE)
    _fault(company, FAULTS[name])

    work = _work(company)
    company.advance("2h")  # the fault is over long before; every retry that was due has run

    (fault,) = company.call("GET", "/_sandbox/faults")[1]
    assert fault["hits"] >= 1, "the fault never applied: the scenario proves nothing"
    assert _seen(company) == _expected(company), f"{name}: lost or doubled cards"
    assert company.api("GET", "/outbox/parked", expect=200)["parked"] == []
    assert company.api("GET", f"/approvals/{work['approval']['id']}")["status"] == "pending"
    # and the cards work: the approver decides, the applicant hears it once
    company.click("lina", _cards(company, "lina", "劳保手套")[0], "approve")
    assert company.api("GET", f"/approvals/{work['approval']['id']}")["status"] == "approved"
    told = [t for t in company.texts("zhangsan") if work["approval"]["id"] in t and "通过" in t]
    assert len(told) == 1, company.texts("zhangsan")


def test_a_misconfigured_wecom_parks_the_sends_and_the_operator_replays_them_once(start_company) -> None:
    company = start_company(WEDNESDAY, people=PEOPLE)
    _fault(company, {"errcode": 60020, "times": 1000})

    work = _work(company)
    company.advance("10m")

    parked = company.api("GET", "/outbox/parked", expect=200)["parked"]
    refs = sorted(next(iter(p["ref"])) for p in parked)
    assert refs == ["notice_id", "task_id", "ticket_id"], parked  # the approval fails on its own path
    assert all("IpNotTrusted" in p["last_error"] for p in parked)
    assert _cards(company, "zhangsan", "3号产线传送带异响") == []
    approval = company.api("GET", f"/approvals/{work['approval']['id']}")
    assert approval["status"] == "failed" and approval["error"]["error"] == "IpNotTrusted", approval

    assert company.call("DELETE", "/_sandbox/faults")[0] == 200  # the operator fixed the trusted IPs
    for p in parked:
        assert company.call("POST", f"/outbox/parked/{p['id']}/replay")[0] == 200
        status, again = company.call("POST", f"/outbox/parked/{p['id']}/replay")
        assert status == 409 and "not parked" in again["error"]["message"], again
    company.settle()

    expected = _expected(company)
    del expected[("lina", "劳保手套")]
    assert +_seen(company) == expected
    assert company.api("GET", "/outbox/parked", expect=200)["parked"] == []
    assert company.call("POST", "/outbox/parked/nonexistent/replay")[0] == 404


def test_a_workday_with_wecom_throttled_and_failing_still_delivers_everything_once(start_company) -> None:
    """Wednesday of the holiday week: WeCom throttles app messages for half an hour around the first
    escalation and answers 502 for a while before noon and during the 18:00 summary."""
    company = start_company("2026-05-06T08:55:00+08:00", people=["chenjing", "zhangsan", "lina", "zhoujie"],
                            robots=["project-group"])
    company.until("2026-05-06T09:00:00+08:00")
    company.api("POST", "/tickets", {
        "type": "repair", "title": "2号线贴标机卡纸", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "贴标机", "location": "二号厂房"}}, expect=201)
    company.until("2026-05-06T09:50:00+08:00")
    _fault(company, {"errcode": 45009, "seconds": 1800})
    company.until("2026-05-06T11:50:00+08:00")
    _fault(company, {"kind": "http_status", "http_status": 502, "times": 5})
    company.until("2026-05-06T17:59:00+08:00")
    _fault(company, {"path": "webhook/send", "kind": "http_status", "http_status": 502, "times": 2})
    company.until("2026-05-06T19:00:00+08:00")

    hits = {f["id"]: f["hits"] for f in company.call("GET", "/_sandbox/faults")[1]}
    assert all(hits.values()), f"every fault applied: {hits}"
    for userid in ("lina", "zhoujie", "zhangsan", "chenjing"):
        doubled = [t for t, n in Counter(company.texts(userid)).items() if n > 1]
        assert doubled == [], f"{userid} got these twice: {doubled}"
    l1 = [e for e in company.inbox("lina") if "工单升级 L1" in e["text"] and "首次响应" in e["text"]]
    l2 = [e for e in company.inbox("zhoujie") if "工单升级 L2" in e["text"] and "首次响应" in e["text"]]
    assert len(l1) == 1 and len(l2) == 1, (company.texts("lina"), company.texts("zhoujie"))
    assert "10:00" < l1[0]["local_time"][-5:] <= "10:30", "delayed by the throttling, not lost"
    assert len(_cards(company, "zhangsan", "2号线贴标机卡纸")) == 1
    summaries = [e for e in company.robot("project-group") if e["local_time"].startswith("2026-05-06 18")]
    assert len(summaries) == 1 and "2号线贴标机卡纸" in summaries[0]["text"], company.robot("project-group")
    assert company.api("GET", "/outbox/parked", expect=200)["parked"] == []


@pytest.mark.parametrize("name", ["throttled-45009-for-10-min", "timeout", "reset-after-landing"])
def test_a_clicked_card_shows_its_outcome_after_wecom_failed_the_update(start_company, name) -> None:
    """The approver approves, the employee acknowledges the notice and finishes the to-do while WeCom
    fails card updates: each card ends greyed out once, with its outcome, and nothing is parked."""
    fault = {"throttled-45009-for-10-min": {"errcode": 45009, "seconds": 600}}.get(name) or FAULTS[name]
    company = start_company(WEDNESDAY, people=PEOPLE)
    work = _work(company)
    _fault(company, {**fault, "path": "message/update_template_card"})

    company.click("lina", _cards(company, "lina", "劳保手套")[0], "approve")
    notice = company.card("wangwu", "消防演练通知")
    company.click("wangwu", notice["task_id"], notice["keys"][0])
    company.click("wangwu", company.card("wangwu", "补录五月巡检记录")["task_id"], "done")
    company.advance("2h")

    (applied,) = company.call("GET", "/_sandbox/faults")[1]
    assert applied["hits"] >= 1, "the fault never applied: the scenario proves nothing"
    assert company.api("GET", f"/approvals/{work['approval']['id']}")["status"] == "approved"
    assert company.api("GET", f"/tasks/{work['task']['id']}")["status"] == "done"
    for userid, text in (("lina", "劳保手套"), ("wangwu", "消防演练通知"), ("wangwu", "补录五月巡检记录")):
        card = company.card(userid, text)
        assert card["keys"] == [], f"{userid}'s card for {text} still has live buttons: {card}"
        updates = [m for m in company.call("GET", "/_sandbox/messages")[1]
                   if m.get("api") == "message/update_template_card" and m["task_id"] == card["task_id"]]
        assert len(updates) == 1, f"{text}: updated {len(updates)} times"
    assert company.api("GET", "/outbox/parked", expect=200)["parked"] == []
