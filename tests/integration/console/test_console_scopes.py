"""Data scopes, enforced in what each page reads: an employee sees their own items, a department head
their departments' (sub-departments included), an admin everything; an id outside the scope answers
404 exactly like one that does not exist. Demo company: zhangsan and lina's 华东一组 sits under
zhoujie's 华东大区; wangwu is in wufang's 华南一组; chenjing in fengtao's 销售部; liuyang is the admin."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.approvals.helpers import card_for


@pytest.fixture
def items(console: Any) -> dict[str, str]:
    status, ticket = console.http("POST", "/tickets", {
        "type": "repair", "title": "二号厂房注塑机温控失灵", "reporter": "chenjing", "priority": "P3",
        "fields": {"device_name": "注塑机", "location": "二号厂房"}})
    assert status == 201, ticket
    status, approval = console.http("POST", "/approvals", {
        "type": "expense", "applicant": "zhangsan", "form": {"amount": 500, "reason": "打车", "invoice_no": "INV-S1"}})
    assert status == 201, approval
    card_for(console, approval["id"], "lina")
    return {"ticket": ticket["id"], "team": ticket["team"], "approval": approval["id"]}


# (userid, sees the ticket, sees the approval, scope label)
MATRIX = [
    ("zhangsan", True, True, "员工"),      # tech_support's dispatcher, the approval's applicant
    ("chenjing", True, False, "员工"),     # the ticket's reporter
    ("wangwu", False, False, "员工"),      # unrelated employee
    ("lina", True, True, "部门负责人"),     # head of 华东一组 (zhangsan), the approver
    ("zhoujie", True, True, "部门负责人"),  # head of 华东大区: 华东一组 is a sub-department
    ("fengtao", True, False, "部门负责人"), # head of 销售部 (chenjing reported the ticket)
    ("wufang", False, False, "部门负责人"), # head of 华南一组: none of theirs
    ("liuyang", True, True, "管理员"),     # config/console.yaml admins
]


@pytest.mark.parametrize(("userid", "ticket", "approval", "label"), MATRIX)
def test_given_each_scope_then_lists_and_pages_show_exactly_its_items(browser, items, userid, ticket, approval,
                                                                      label) -> None:
    assert items["team"] == "tech_support"  # dispatcher zhangsan, backup lina
    b = browser()
    home = b.login(userid)
    assert f"· {label}" in home.text

    listed = b.get("/console/tickets")
    assert listed.status == 200
    assert (f'data-ticket="{items["ticket"]}"' in listed.body) is ticket
    page = b.get(f"/console/tickets/{items['ticket']}")
    assert page.status == (200 if ticket else 404)
    if not ticket:
        assert "不在你的查看范围内" in page.text and "注塑机" not in page.body

    approvals = b.get("/console/approvals")
    assert (items["approval"] in approvals.body) is approval
    page = b.get(f"/console/approvals/{items['approval']}")
    assert page.status == (200 if approval else 404)


def test_given_a_guessed_id_then_404_like_a_missing_one(browser, items) -> None:
    b = browser()
    b.login("wangwu")
    outside, missing = b.get(f"/console/tickets/{items['ticket']}"), b.get("/console/tickets/TK20260302-nope")
    assert outside.status == missing.status == 404 and outside.text == missing.text


def test_given_an_employee_posting_to_an_item_outside_their_scope_then_404_and_nothing_changed(
        browser, console, items) -> None:
    b = browser()
    home = b.login("wangwu")
    page = b.post(f"/console/tickets/{items['ticket']}/actions",
                  {"csrf": home.csrf(), "action": "comment", "comment": "我来看看"})
    assert page.status == 404
    status, ticket = console.http("GET", f"/tickets/{items['ticket']}")
    assert [h for h in ticket["history"] if h["action"] == "comment"] == []
    page = b.post(f"/console/approvals/{items['approval']}/decide", {"csrf": home.csrf(), "decision": "approved"})
    assert page.status == 404
    assert console.http("GET", f"/approvals/{items['approval']}")[1]["status"] == "pending"


def test_given_a_head_then_the_approval_list_shows_their_departments_pending(browser, items) -> None:
    b = browser()
    b.login("zhoujie")
    page = b.get("/console/approvals")
    assert "我负责部门的审批中申请" in page.text and items["approval"] in page.body
