"""Approvals as the people involved see them on a workday: expense ≤ 1000 CNY decided by the
department head on the card, > 1000 through finance pre-review (或签: either of two) and the general
manager; the other finance approver's card shows the decision and her late click is answered; an
approved leave sends the handover to-do; zero annual leave is rejected at once with the 调休
suggestion."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def _submit(company, applicant: str, approval_type: str, form: dict) -> dict:
    status, body = company.call("POST", "/approvals", {"type": approval_type, "applicant": applicant, "form": form})
    assert status in (200, 201), body
    company.settle()
    return body


def _status(company, approval_id: str) -> str:
    return company.call("GET", f"/approvals/{approval_id}")[1]["status"]


def test_expenses_leave_and_zero_balance_on_a_workday(start_company) -> None:
    company = start_company("2026-05-06T09:30:00+08:00",
                            people=["zhangsan", "lina", "zhaomin", "qianjin", "wangjianguo", "lisi"])

    # ≤ 1000: 张三's taxi fare → his department head 李娜 approves on the card
    small = _submit(company, "zhangsan", "expense", {"amount": 800, "reason": "客户现场打车", "invoice_no": "INV-A1"})
    card = company.card("lina", "客户现场打车")
    assert set(card["keys"]) == {"approve", "reject"}
    company.click("lina", card["task_id"], "approve")
    assert _status(company, small["id"]) == "approved"
    assert any(small["id"] in t and "已通过" in t for t in company.texts("zhangsan"))
    assert not company.card("lina", "客户现场打车")["keys"], "the decided card has no live buttons"

    # > 1000: finance pre-review (赵敏 or 钱进), then the general manager
    large = _submit(company, "zhangsan", "expense", {"amount": 3200, "reason": "服务器内存条", "invoice_no": "INV-A2"})
    assert not [e for e in company.inbox("lina") if "服务器内存条" in e["text"]], "not the department head's"
    first = company.card("zhaomin", "服务器内存条")
    other = company.card("qianjin", "服务器内存条")
    company.click("zhaomin", first["task_id"], "approve")
    # 钱进's card of the same step now shows 赵敏's decision; her late 驳回 is answered, changes nothing
    assert not company.card("qianjin", "服务器内存条")["keys"]
    assert "赵敏" in company.card("qianjin", "服务器内存条")["text"]
    status, _ = company.call("POST", "/_sandbox/click", {"userid": "qianjin", "task_id": other["task_id"],
                                                        "key": "reject"})
    company.settle()
    late = [t for t in company.texts("qianjin") if "您的操作未生效" in t]
    assert len(late) == 1 and "赵敏" in late[0], company.texts("qianjin")
    gm = company.card("wangjianguo", "服务器内存条")
    company.click("wangjianguo", gm["task_id"], "approve")
    assert _status(company, large["id"]) == "approved"

    # an approved leave: the handover colleague gets a to-do naming the applicant
    leave = _submit(company, "zhangsan", "leave", {"leave_type": "annual", "start": "2026-05-11", "end": "2026-05-12",
                                                    "days": 2, "reason": "家事", "handover_to": ["lisi"]})
    company.click("lina", company.card("lina", "家事")["task_id"], "approve")
    assert _status(company, leave["id"]) == "approved"
    todo = company.card("lisi", "交接")  # a to-do card naming the applicant, done where it is read
    assert "张三" in todo["text"] and todo["keys"] == ["done"], todo
    company.click("lisi", todo["task_id"], "done")
    done = company.card("lisi", "交接")
    assert done["keys"] == [] and "已完成" in done["text"], done

    # 李四 has no annual leave left: rejected at once, told to use 调休 (1.5 days cover 1 day) or 事假
    refused = _submit(company, "lisi", "leave", {"leave_type": "annual", "start": "2026-05-13", "end": "2026-05-13",
                                                  "days": 1, "reason": "看病"})
    assert refused["outcome"] == "auto_reject"
    told = [t for t in company.texts("lisi") if refused["id"] in t]
    assert told and "调休" in told[0] and "事假" in told[0] and "病假" not in told[0], told


def test_the_general_managers_own_expense_is_decided_by_a_person(start_company) -> None:
    company = start_company("2026-05-06T10:00:00+08:00", people=["wangjianguo", "zhaomin", "qianjin"])
    # Nobody is above 王建国: his department-head stage is skipped and finance decides, never "system"
    mine = _submit(company, "wangjianguo", "expense", {"amount": 990, "reason": "客户招待午餐", "invoice_no": "INV-G1"})
    assert mine["outcome"] == "route" and _status(company, mine["id"]) != "approved"
    card = company.card("qianjin", "客户招待午餐")
    assert set(card["keys"]) == {"approve", "reject"}
    company.click("qianjin", card["task_id"], "approve")
    assert _status(company, mine["id"]) == "approved"
    assert any(mine["id"] in t and "已通过" in t for t in company.texts("wangjianguo"))
