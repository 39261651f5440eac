"""Acting in the console: a ticket action asks for the fields its target status requires (智能必填)
and answers in Chinese next to the field; a stale form is refused; an approval decided on the web
while its card is clicked counts once; a notice's read rate, who has not acknowledged, and its CSV."""

from __future__ import annotations

import csv
import io
import threading
from typing import Any

from tests.integration.approvals.helpers import card_for, final, wait_until


def _repair(console: Any) -> str:
    status, ticket = console.http("POST", "/tickets", {
        "type": "repair", "title": "包装机异响", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "包装机", "location": "一号厂房"}})
    assert status == 201, ticket
    return ticket["id"]


def test_given_resolve_without_its_required_field_then_chinese_error_next_to_it_then_resolved(browser, console) -> None:
    ticket_id = _repair(console)
    b = browser()
    page = b.login("zhangsan", f"/console/tickets/{ticket_id}")
    assert "受理" in page.text and 'data-action="accept"' in page.body
    assert b.post(f"/console/tickets/{ticket_id}/actions", {"csrf": page.csrf(), "action": "accept",
                                                            "version": "1"}).status == 302
    page = b.get(f"/console/tickets/{ticket_id}")
    assert 'data-action="resolve"' in page.body and 'name="field.repair_cost"' in page.body  # asked for

    refused = b.post(f"/console/tickets/{ticket_id}/actions", {
        "csrf": page.csrf(), "action": "resolve", "version": "2", "comment": "已更换轴承"})
    assert refused.status == 400
    assert 'data-error-for="repair_cost"' in refused.body and "此项必填" in refused.text
    assert console.http("GET", f"/tickets/{ticket_id}")[1]["status"] == "in_progress"  # nothing changed

    done = b.post(f"/console/tickets/{ticket_id}/actions", {
        "csrf": page.csrf(), "action": "resolve", "version": "2", "comment": "已更换轴承", "field.repair_cost": "120"})
    assert done.status == 302, done.text
    ticket = console.http("GET", f"/tickets/{ticket_id}")[1]
    assert ticket["status"] == "resolved" and ticket["fields"]["repair_cost"] in ("120.00", "120", 120)
    assert [h["by"] for h in ticket["history"] if h["action"] == "resolve"] == ["zhangsan"]


def test_given_a_form_read_before_someone_else_acted_then_409_stale_and_nothing_changed(browser, console) -> None:
    ticket_id = _repair(console)
    b = browser()
    page = b.login("zhangsan", f"/console/tickets/{ticket_id}")
    assert console.http("POST", f"/tickets/{ticket_id}/actions", {"action": "comment", "by": "lina",
                                                                  "comment": "我先看下"})[0] == 200
    stale = b.post(f"/console/tickets/{ticket_id}/actions", {"csrf": page.csrf(), "action": "accept", "version": "1"})
    assert stale.status == 409 and "已被他人更新" in stale.text
    assert console.http("GET", f"/tickets/{ticket_id}")[1]["status"] == "new"


def test_given_a_web_decision_and_a_card_click_at_the_same_moment_then_one_decision(browser, console) -> None:
    status, a = console.http("POST", "/approvals", {
        "type": "expense", "applicant": "zhangsan", "form": {"amount": 600, "reason": "打车", "invoice_no": "INV-R1"}})
    assert status == 201, a
    card = card_for(console, a["id"], "lina")
    b = browser()
    page = b.login("lina", f"/console/approvals/{a['id']}")
    assert 'data-submit="approve"' in page.body
    start = threading.Barrier(2)
    results: dict[str, Any] = {}

    def web() -> None:
        start.wait()
        results["web"] = b.post(f"/console/approvals/{a['id']}/decide", {"csrf": page.csrf(), "decision": "approved"})

    def click() -> None:
        start.wait()
        results["card"] = console.click("lina", card["task_id"], "approve")

    threads = [threading.Thread(target=web), threading.Thread(target=click)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    body = final(console, a["id"])
    assert body["status"] == "approved"
    assert [d["userid"] for d in body["stages"][0]["decisions"]] == ["lina"]
    assert results["web"].status in (302, 409)
    told = wait_until(lambda: [m for m in console.messages() if "zhangsan" in (m.get("recipients") or {}).get("userids", [])
                               and a["id"] in str(m.get("content") or m.get("card") or "") and "通过" in str(m)],
                      what="the applicant told")
    assert len(told) == 1
    assert "已通过" in b.get(f"/console/approvals/{a['id']}").text


def test_given_a_notice_then_its_page_shows_the_rate_who_is_missing_and_a_csv(browser, console) -> None:
    status, created = console.http("POST", "/notices", {
        "title": "消防演练通知", "content": "周五下午消防演练，请确认。", "touser": ["zhangsan", "lisi", "sunxiaomei"],
        "sender": "lina", "ack_deadline": "2026-03-06T18:00:00+08:00"})
    assert status == 201, created
    console.stack.drain()
    [card] = [m for m in console.messages() if m["msgtype"] == "template_card" and m.get("task_id")]
    console.click("zhangsan", card["task_id"], "ack")

    b = browser()
    b.login("lina")
    listing = b.get("/console/notices")
    assert "消防演练通知" in listing.text and "1/3" in listing.text
    page = b.get(f"/console/notices/{created['id']}")
    assert "已确认 1/3（33.3%）" in page.text
    assert "未确认 2 李四、孙小美" in page.text
    export = b.get(f"/console/notices/{created['id']}/export")
    assert export.status == 200 and export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.body.lstrip("\ufeff"))))
    assert rows[0] == ["userid", "姓名", "部门", "确认时间"]
    assert sorted(r[0] for r in rows[1:]) == ["lisi", "sunxiaomei", "zhangsan"]
    assert [r[3] != "" for r in sorted(rows[1:])] == [False, False, True]

    outsider = browser()
    outsider.login("wangwu")
    assert outsider.get(f"/console/notices/{created['id']}").status == 404
    assert outsider.get(f"/console/notices/{created['id']}/export").status == 404


def test_given_a_group_then_its_page_lists_the_open_items_the_summary_links_to(browser, console) -> None:
    from tests.integration.console.conftest import BASE

    ticket_id = _repair(console)
    status, a = console.http("POST", "/approvals", {
        "type": "expense", "applicant": "zhangsan", "form": {"amount": 300, "reason": "打车", "invoice_no": "INV-G1"}})
    assert status == 201, a
    card = card_for(console, a["id"], "lina")
    assert card["card"]["card_action"] == {"type": 1, "url": f"{BASE}/console/approvals/{a['id']}"}  # 查看详情

    b = browser()
    b.login("lina")
    page = b.get("/console/groups/service-desk")
    assert page.status == 200 and "技术服务项目组" in page.text
    assert f"/console/tickets/{ticket_id}" in page.body and "包装机异响" in page.text
    assert b.get("/console/groups/no-such-group").status == 404


def test_given_an_order_behind_plan_then_the_production_board_shows_it_to_heads_not_employees(browser, console) -> None:
    plan = {"order_id": "O-77", "product": "电机外壳", "total_qty": 1300,
            "start": "2026-03-02T08:00:00+08:00", "end": "2026-03-02T21:00:00+08:00"}  # 100 an hour
    assert console.http("POST", "/progress", {"plans": [plan], "actuals": [{"order_id": "O-77", "actual_qty": 30}]})[0] == 201
    b = browser()
    b.login("gaofeng")  # 生产部's head
    page = b.get("/console/progress")
    assert page.status == 200 and 'data-order="O-77"' in page.body and "电机外壳" in page.text
    assert "落后" in page.text and "data-chart=" in page.body

    employee = browser()
    employee.login("wangwu")
    assert "没有进行中的生产订单" in employee.get("/console/progress").text


def test_given_resolved_tickets_then_dwell_time_per_stage_and_team_is_charted_for_their_scope(browser, console) -> None:
    ticket_id = _repair(console)
    for body in ({"action": "accept", "by": "zhangsan"},
                 {"action": "resolve", "by": "zhangsan", "fields": {"repair_cost": 80}}):
        status, answer = console.http("POST", f"/tickets/{ticket_id}/actions", body)
        assert status == 200, answer
    b = browser()
    b.login("lina")
    page = b.get("/console/dwell")
    assert page.status == 200 and "已解决的 1 张工单" in page.text
    assert 'data-testid="dwell-stage"' in page.body and "报修登记" in page.text and "技术支持组" in page.text
    assert "P90" in page.text and 'data-testid="dwell-stage-chart"' in page.body
    wall = b.get("/console/dwell?basis=wall&weeks=2")
    assert "自然时间" in wall.text and "最近 2 周" in wall.text

    outsider = browser()
    outsider.login("wangwu")
    assert "这段时间没有你可见的已解决工单" in outsider.get("/console/dwell").text


def test_given_a_ticket_resolved_reopened_and_resolved_in_another_week_then_it_counts_once(console) -> None:
    from datetime import timedelta

    from wecom_oa.clock import VirtualClock, get_clock, set_clock
    from wecom_oa.tickets import service as tickets

    ticket_id = _repair(console)
    for body in ({"action": "accept", "by": "zhangsan"},
                 {"action": "resolve", "by": "zhangsan", "fields": {"repair_cost": 80}},
                 {"action": "reopen", "by": "chenjing", "reason": "又坏了"}):
        assert console.http("POST", f"/tickets/{ticket_id}/actions", body)[0] == 200
    first = tickets.iso_week(get_clock().now())
    set_clock(VirtualClock(get_clock().now() + timedelta(days=7), scale=1.0))
    assert console.http("POST", f"/tickets/{ticket_id}/actions", {"action": "resolve", "by": "zhangsan"})[0] == 200
    second = tickets.iso_week(get_clock().now())

    assert [r["ticket_id"] for r in tickets.dwell_records([first, second])] == [ticket_id]
    assert tickets.dwell_records([second])[0]["week"] == second


def test_given_an_onboarding_then_its_board_shows_the_tasks_to_hr_and_not_to_outsiders(browser, console) -> None:
    status, w = console.http("POST", "/workflows", {"template": "onboarding", "subject": {"new_hire": "wangwu"},
                                                    "assignments": {"mentor": "lina"}})
    assert status == 201, w
    hr = browser()
    hr.login(w["owner"])
    page = hr.get(f"/console/workflows/{w['id']}")
    assert page.status == 200 and f"0/{len(w['tasks'])}" in page.text
    assert page.body.count("data-task=") == len(w["tasks"]) and "关键路径" in page.text

    outsider = browser()
    outsider.login("chenjing")
    assert outsider.get(f"/console/workflows/{w['id']}").status == 404


def test_given_more_tickets_than_a_page_then_pages_follow_the_index_without_repeats(browser, console, monkeypatch) -> None:
    import re as _re

    from wecom_oa.console import api as console_api
    from wecom_oa.console.scopes import Admins, ConsoleConfig

    monkeypatch.setattr(console_api, "console_config",
                        lambda: ConsoleConfig(admins=Admins(users=["liuyang"]), page_size=5))
    made = {_repair(console) for _ in range(7)}
    # Each ticket's timer sets its deadline (the index's sort key) once armed; a key that moves
    # under a cursor moves the ticket to another page (as in DynamoDB), so wait until all are set.
    wait_until(lambda: all(console.http("GET", f"/tickets/{t}")[1].get("next_due") for t in made), what="deadlines")
    b = browser()
    first = b.login("liuyang", "/console/tickets?team=tech_support")
    shown = _re.findall(r'data-ticket="([^"]+)"', first.body)
    assert len(shown) == 5
    nxt = _re.search(r'href="\?([^"]+)" data-testid="next-page"', first.body)
    assert nxt, "a next-page link"
    second = b.get("/console/tickets?" + nxt.group(1).replace("&amp;", "&"))
    rest = _re.findall(r'data-ticket="([^"]+)"', second.body)
    assert len(rest) == 2 and not set(rest) & set(shown) and set(shown) | set(rest) == made
    assert "没有更多了" in second.text


def test_given_the_configuration_then_admins_read_it_and_nobody_else_finds_it(browser) -> None:
    admin = browser()
    admin.login("liuyang")
    index = admin.get("/console/config")
    assert index.status == 200 and "ticket_types.yaml" in index.text and "workflows/onboarding.yaml" in index.text
    page = admin.get("/console/config/ticket_types.yaml")
    assert page.status == 200 and "tech_support" in page.text
    assert admin.get("/console/config/workflows/onboarding.yaml").status == 200
    assert admin.get("/console/config/..%2Fsettings.py").status == 404

    head = browser()
    head.login("lina")
    assert head.get("/console/config").status == 404 and head.get("/console/config/ticket_types.yaml").status == 404
