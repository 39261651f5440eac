"""The console in a real browser: WeCom login in both flows, a department head's view, a ticket action
with its required field, an approval decided on the web, charts drawn by ECharts, an id outside the
scope. Everything is set up through the public API, as another system or WeCom would."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import WECOM_MOBILE, login, shot


def _repair(company: Any, title: str) -> str:
    ticket = company.api("POST", "/tickets", {"type": "repair", "title": title, "reporter": "chenjing",
                                               "priority": "P2", "fields": {"device_name": "注塑机", "location": "二号厂房"}},
                         expect=201)
    return ticket["id"]


def test_given_a_pc_browser_when_a_head_logs_in_by_qr_then_the_ticket_center_shows_their_departments(
        open_page, company) -> None:
    ticket_id = _repair(company, "二号厂房注塑机温控失灵")
    page = open_page()
    page.goto("/console/tickets")
    assert "/_sandbox/wwlogin/sso/login" in page.url and "扫码登录" in page.inner_text("h2")
    page.locator("a.user[data-userid='lina']").click()
    page.wait_for_url("**/console/tickets")

    assert page.inner_text("[data-testid=who]") == "李娜 · 部门负责人"
    row = page.locator(f"tr[data-ticket='{ticket_id}']")
    assert row.inner_text().split("\t")[1:4] == ["二号厂房注塑机温控失灵", "待受理", "高"]
    shot(page, "tickets")
    cookie = next(c for c in page.context.cookies() if c["name"] == "oa_console")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_given_wecom_on_a_phone_when_the_dispatcher_resolves_then_the_required_field_is_asked_for(
        open_page, company) -> None:
    ticket_id = _repair(company, "包装机异响")
    page = open_page(WECOM_MOBILE, {"width": 390, "height": 844})
    page.goto(f"/console/tickets/{ticket_id}")
    assert "/_sandbox/connect/oauth2/authorize" in page.url
    page.locator("a.user[data-userid='zhangsan']").click()
    page.wait_for_url(f"**/console/tickets/{ticket_id}")

    page.select_option("#action-picker", "accept")
    page.click("form[data-action='accept'] [data-submit='accept']")
    page.wait_for_load_state()
    assert page.inner_text("h1").count("处理中") == 1
    company.advance("90m")  # the repair takes an hour and a half (business time)
    page.reload()
    page.select_option("#action-picker", "resolve")
    form = page.locator("form[data-action='resolve']")
    form.locator("textarea[name='comment']").fill("已更换轴承")
    form.locator("[data-submit='resolve']").click()
    page.wait_for_load_state()
    assert "此项必填" in page.inner_text("[data-error-for='repair_cost']")
    page.select_option("#action-picker", "resolve")
    form = page.locator("form[data-action='resolve']")
    form.locator("input[name='field.repair_cost']").fill("120")
    form.locator("[data-submit='resolve']").click()
    page.wait_for_load_state()
    assert "已解决" in page.inner_text("h1")
    assert company.api("GET", f"/tickets/{ticket_id}")["status"] == "resolved"
    page.wait_for_selector("[data-testid=dwell-chart][data-rendered='1'] svg")
    shot(page, "ticket-mobile")


def test_given_an_expense_when_the_head_approves_on_the_web_then_approved_and_the_card_closes(
        open_page, company) -> None:
    a = company.api("POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                            "form": {"amount": 680, "reason": "客户现场打车", "invoice_no": "INV-B1"}},
                    expect=201)
    page = open_page()
    login(page, "lina", "/console/approvals")
    assert a["id"] in page.inner_text("[data-testid=waiting]")
    shot(page, "approvals")
    page.click(f"a[href='/console/approvals/{a['id']}']")
    page.click("[data-submit='approve']")
    page.wait_for_load_state()
    assert "李娜 同意" in page.inner_text("main")  # the decision is recorded at once
    company.settle()  # the approval's state machine finishes on the (stepped) clock
    assert company.api("GET", f"/approvals/{a['id']}")["status"] == "approved"
    page.reload()
    assert page.inner_text("[data-testid=approval-status]") == "已通过"
    assert any("已同意" in e["text"] for e in company.inbox("lina") if e.get("task_id"))  # the card shows it


def test_given_a_notice_then_its_read_rate_chart_is_drawn(open_page, company) -> None:
    n = company.api("POST", "/notices", {"title": "消防演练通知", "content": "周五下午消防演练，请确认。",
                                          "toparty": [6], "sender": "lina",
                                          "ack_deadline": "2026-03-06T18:00:00+08:00"}, expect=201)
    card = company.card("zhangsan", "消防演练通知")
    company.click("zhangsan", card["task_id"], "ack")
    page = open_page()
    login(page, "lina", f"/console/notices/{n['id']}")
    assert "已确认 1/" in page.inner_text("[data-testid=ack-rate]")
    page.wait_for_selector("[data-testid=region-chart][data-rendered='1'] svg")
    shot(page, "notice")


def test_given_an_employee_when_guessing_another_teams_ticket_then_404(open_page, company) -> None:
    ticket_id = _repair(company, "仓库叉车无法启动")
    page = open_page()
    login(page, "wangwu")
    response = page.goto(f"/console/tickets/{ticket_id}")
    assert response.status == 404 and "不在你的查看范围内" in page.inner_text("main")


def test_given_the_other_pages_then_each_renders_for_a_head_with_its_charts(open_page, company) -> None:
    ticket_id = _repair(company, "空压机压力不足")
    company.advance("40m")  # accepted after 40 minutes, repaired in 2.5 hours
    company.api("POST", f"/tickets/{ticket_id}/actions", {"action": "accept", "by": "zhangsan"}, expect=200)
    company.advance("150m")
    company.api("POST", f"/tickets/{ticket_id}/actions",
                {"action": "resolve", "by": "zhangsan", "fields": {"repair_cost": 300}}, expect=200)
    company.api("POST", "/progress", {"plans": [{"order_id": "SO-2026-031", "product": "电机外壳", "total_qty": 1300,
                                                 "start": "2026-03-02T08:00:00+08:00", "end": "2026-03-02T21:00:00+08:00"}],
                                      "actuals": [{"order_id": "SO-2026-031", "actual_qty": 40}]}, expect=201)
    page = open_page()
    login(page, "gaofeng")  # 生产部's head
    assert page.inner_text("h1") == "你好，高峰"
    shot(page, "home")
    page.goto("/console/progress")
    page.wait_for_selector("[data-order='SO-2026-031'] [data-testid=order-chart][data-rendered='1'] svg")
    shot(page, "progress")
    page.goto("/console/groups/service-desk")
    assert "技术服务项目组" in page.inner_text("h1")
    shot(page, "group")

    lina = open_page()
    login(lina, "lina", "/console/dwell")
    lina.wait_for_selector("[data-testid=dwell-stage-chart][data-rendered='1'] svg")
    assert "报修登记" in lina.inner_text("[data-testid=dwell-stage]")
    shot(lina, "dwell")
