"""People act where they are, in WeCom: a ticket's handler resolves (asked in the chat for the
field the resolution needs), comments and transfers from the cards; a to-do is finished with its
完成 button; an approver's 驳回 carries a reason, chosen or in her own words."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

REPAIR = {"type": "repair", "title": "2号冷库温控失灵", "reporter": "chenjing", "priority": "P3",
          "fields": {"device_name": "冷库温控器", "location": "二号仓库"}}


def _status(company, ticket_id: str) -> str:
    return company.api("GET", f"/tickets/{ticket_id}")["status"]


def test_a_repair_ticket_is_handled_from_the_cards_and_the_chat(start_company) -> None:
    company = start_company("2026-05-06T09:00:00+08:00", people=["chenjing", "zhangsan", "lina", "wangwu"])
    ticket = company.api("POST", "/tickets", REPAIR, expect=201)
    company.click("zhangsan", company.card("zhangsan", "2号冷库温控失灵")["task_id"], "accept")
    handling = company.card("zhangsan", "处理中")
    assert handling["keys"] == ["resolve", "transfer", "comment"], handling

    # 备注: asked in the chat, his reply is the comment; the reporter's colleagues read it by his name
    company.click("zhangsan", handling["task_id"], "comment")
    assert "备注内容" in company.texts("zhangsan")[-1]
    company.chat("zhangsan", "已联系厂家，下午到场")
    notes = [h for h in company.api("GET", f"/tickets/{ticket['id']}")["history"] if h["action"] == "comment"]
    assert [n["comment"] for n in notes] == ["已联系厂家，下午到场"]

    # 解决 needs the repair cost: asked for, a wrong answer is named, the right one resolves
    company.click("zhangsan", handling["task_id"], "resolve")
    asked = company.texts("zhangsan")[-1]
    assert "维修费用" in asked and "金额" in asked and ticket["id"] in asked, asked
    company.chat("zhangsan", "不知道")
    assert "无效" in company.texts("zhangsan")[-1] and _status(company, ticket["id"]) != "resolved"
    company.chat("zhangsan", "350")
    after = company.api("GET", f"/tickets/{ticket['id']}")
    assert after["status"] == "resolved" and str(after["fields"]["repair_cost"]) in ("350", "350.00")
    assert any("已解决" in t for t in company.texts("chenjing"))
    # the handling card is closed for him: no live buttons on a resolved ticket
    closed = [e for e in company.inbox("zhangsan") if e.get("task_id") == handling["task_id"]]
    assert closed and closed[-1]["keys"] == [] and "已解决" in closed[-1]["text"], closed
    # his next message is an ordinary chat again (no question open)
    told = len(company.texts("zhangsan"))
    company.chat("zhangsan", "谢谢")
    assert len(company.texts("zhangsan")) == told
    assert company.api("GET", f"/tickets/{ticket['id']}")["status"] == "resolved"


def test_a_ticket_is_transferred_from_the_card(start_company) -> None:
    company = start_company("2026-05-06T09:00:00+08:00", people=["chenjing", "zhangsan", "lina", "wangwu"])
    ticket = company.api("POST", "/tickets", {**REPAIR, "title": "叉车电池无法充电"}, expect=201)
    company.click("zhangsan", company.card("zhangsan", "叉车电池无法充电")["task_id"], "accept")
    company.click("zhangsan", company.card("zhangsan", "处理中")["task_id"], "transfer")
    choice = company.card("zhangsan", "转派")
    company.click("zhangsan", choice["task_id"], "transfer_submit", {"transfer_to": "team:field_service"})
    after = company.api("GET", f"/tickets/{ticket['id']}")
    assert after["team"] == "field_service", after
    assert any(ticket["id"] in t for t in company.texts("wangwu")), company.texts("wangwu")


def test_a_to_do_is_done_from_its_card(start_company) -> None:
    company = start_company("2026-05-06T09:00:00+08:00", people=["zhangsan"])
    task = company.api("POST", "/tasks", {"title": "更新客户台账", "owner": "zhangsan", "source": "erp", "group": "service-desk",
                                          "due_at": "2026-05-07T17:00:00+08:00"}, expect=201)
    card = company.card("zhangsan", "更新客户台账")
    assert card["keys"] == ["done"]
    company.click("zhangsan", card["task_id"], "done")
    assert company.api("GET", f"/tasks/{task['id']}")["status"] == "done"


def test_a_rejection_carries_the_approvers_reason(start_company) -> None:
    company = start_company("2026-05-06T09:30:00+08:00", people=["zhangsan", "lina"])
    status, first = company.call("POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                                        "form": {"amount": 300, "reason": "快递费"}})
    assert status == 201, first
    company.settle()
    company.click("lina", company.card("lina", "快递费")["task_id"], "reject")
    reason_card = company.card("lina", "请选择驳回原因")
    company.click("lina", reason_card["task_id"], "reject_submit", {"reason": "r0"})
    assert company.api("GET", f"/approvals/{first['id']}")["status"] == "rejected"
    assert any(first["id"] in t and "原因：材料不全" in t for t in company.texts("zhangsan"))

    # 其他: her own words, asked in the chat
    status, second = company.call("POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                                         "form": {"amount": 260, "reason": "办公用品"}})
    company.settle()
    company.click("lina", company.card("lina", "办公用品")["task_id"], "reject")
    assert company.api("GET", f"/approvals/{second['id']}")["status"] == "pending", "not before the reason"
    company.click("lina", company.card("lina", "请选择驳回原因")["task_id"], "reject_submit", {"reason": "other"})
    assert "原因" in company.texts("lina")[-1]
    company.chat("lina", "请走月度集中采购")
    assert company.api("GET", f"/approvals/{second['id']}")["status"] == "rejected"
    assert any(second["id"] in t and "原因：请走月度集中采购" in t for t in company.texts("zhangsan"))
