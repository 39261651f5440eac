"""Pending approvals in the 18:00 daily summary, end to end on the local app: POST /approvals →
execution opens the stage (owner, due) → daily-summary fires → the applicant's project group's robot
message lists the approval until it is decided. Uses the shipped config/digests.yaml groups with the
demo company's departments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.approvals.helpers import card_for, final, submit, wait_until
from tests.integration.digests.support import ROBOT_KEY, shanghai
from wecom_oa.clock import ManualClock

BASE = "https://oa.example.com/console/approvals/"


class StoppedClock(ManualClock):
    """Time moves only when the test moves it, and the executions' waits take that long in real
    time: a stage's 24 h timeout never expires during a test (a ManualClock ends waits at once)."""

    def real_seconds(self, seconds: float) -> float:
        return max(0.0, seconds)


@pytest.fixture
def clock() -> Iterator[StoppedClock]:
    """Replaces the package's autouse ManualClock (same start: Friday 2025-10-10 17:59 Shanghai)."""
    from wecom_oa.clock import set_clock
    from wecom_oa.digests import service as digests

    stopped = StoppedClock(shanghai("2025-10-10 17:59"))
    set_clock(stopped)
    yield stopped
    digests.reset()
    set_clock(None)


@pytest.fixture
def shipped_groups(local_app: Any) -> Any:
    from wecom_oa.digests import service as digests
    from wecom_oa.digests.schedules import load_digest_config

    digests.reset()
    digests.configure(config=load_digest_config(), robot_keys={"project-group": ROBOT_KEY})
    return local_app


def _summaries(app: Any) -> dict[str, str]:
    """Group name → the robot summary sent for it (all groups share the demo robot)."""
    out: dict[str, str] = {}
    for m in app.messages():
        content = m.get("content") or ""
        if m["msgtype"] == "markdown" and "待办汇总" in content:
            out[content.split("【", 1)[1].split("】", 1)[0]] = content
    return out


def _waiting(app: Any, approval_id: str, approver: str) -> None:
    """Wait until the execution opened the first stage (its card reached the approver)."""
    card_for(app, approval_id, approver)


def test_given_an_expense_pending_with_lina_when_daily_summary_fires_then_the_applicants_group_lists_it(
        shipped_groups, clock) -> None:
    app = shipped_groups
    pending = submit(app, "expense", "zhangsan", {"amount": 800, "reason": "客户现场打车"})
    _waiting(app, pending["id"], "lina")
    clock.set(shanghai("2025-10-10 18:00"))

    assert app.stack.fire("daily-summary")["status"] == "done"

    summaries = _summaries(app)
    assert list(summaries) == ["技术服务项目组"]  # 客服与财务项目组 has nothing open: not sent
    line = next(ln for ln in summaries["技术服务项目组"].splitlines() if BASE + pending["id"] in ln)
    assert "报销 · 张三 · 客户现场打车" in line
    assert "<@lina>" in line  # robot markdown mentions the approver the stage waits on
    assert "截止 10-11 17:59" in line  # opened 17:59, 24 h stage timeout
    assert "待审批 1" in summaries["技术服务项目组"]


def test_given_a_stage_opened_then_the_approval_records_who_it_waits_on(shipped_groups) -> None:
    from wecom_oa.aws.dynamo import Keys, app_table

    app = shipped_groups
    pending = submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车"})
    _waiting(app, pending["id"], "lina")

    item = app_table().get(Keys.approval(pending["id"]))
    assert (item["group"], item["current_approver"], item["owner_name"]) == ("service-desk", "lina", "李娜")


def test_given_the_expense_was_approved_when_the_next_days_summary_fires_then_it_is_no_longer_listed(
        shipped_groups, clock) -> None:
    app = shipped_groups
    decided = submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车"})
    still_open = submit(app, "expense", "wangwu", {"amount": 300, "reason": "配件"})  # 华南一组 → service-desk
    _waiting(app, still_open["id"], "wufang")
    card = card_for(app, decided["id"], "lina")
    clock.set(shanghai("2025-10-10 18:00"))
    app.stack.fire("daily-summary")
    assert BASE + decided["id"] in _summaries(app)["技术服务项目组"]

    app.click("lina", card["task_id"], "approve")
    assert final(app, decided["id"])["status"] == "approved"
    clock.advance(timedelta(days=1))  # Saturday 2025-10-11: a 调休 make-up workday
    sent_before = len(app.messages())
    assert app.stack.fire("daily-summary")["status"] == "done"

    next_day = [m["content"] for m in app.messages()[sent_before:] if "待办汇总" in (m.get("content") or "")]
    assert len(next_day) == 1 and "2025-10-11" in next_day[0]
    assert BASE + still_open["id"] in next_day[0]
    assert decided["id"] not in next_day[0]


def test_given_an_applicant_in_no_groups_departments_then_no_summary_lists_the_approval(
        shipped_groups, clock) -> None:
    from wecom_oa.aws.dynamo import Keys, app_table

    app = shipped_groups
    outsider = submit(app, "expense", "liuyang", {"amount": 200, "reason": "文具"})  # 总经办: in no group
    member = submit(app, "expense", "chenjing", {"amount": 200, "reason": "样品快递"})  # 销售部 → customer-care
    wait_until(lambda: app_table().get(Keys.approval(outsider["id"])).get("current_approver"), what="stage open")
    _waiting(app, member["id"], "fengtao")
    clock.set(shanghai("2025-10-10 18:00"))

    app.stack.fire("daily-summary")

    summaries = _summaries(app)
    assert list(summaries) == ["客服与财务项目组"]
    assert BASE + member["id"] in summaries["客服与财务项目组"]
    assert all(outsider["id"] not in text for text in summaries.values())
    assert "group" not in app_table().get(Keys.approval(outsider["id"]))


def test_given_a_native_wecom_leave_in_review_then_its_group_lists_it_until_it_is_decided(
        shipped_groups, clock) -> None:
    from tests.integration.approvals_native.helpers import apply_native, decide, deliver_submitted

    app = shipped_groups
    sp_no = apply_native("native_leave_zero_balance_applyevent.json")  # lisi (技术支持) in WeCom, lina approves
    deliver_submitted(app, sp_no)
    clock.set(shanghai("2025-10-10 18:00"))
    app.stack.fire("daily-summary")

    line = next(ln for ln in _summaries(app)["技术服务项目组"].splitlines() if BASE + f"wecom-{sp_no}" in ln)
    assert "请假 · 李四" in line and "<@lina>" in line

    decide(app, sp_no, "lina")
    app.simulator.approval_change(sp_no, {**app.sandbox.approval(sp_no), "sp_status": 1}, statu_change_event=1,
                                  create_time=1)  # a late in-review callback must not reopen it
    app.stack.drain()
    clock.advance(timedelta(days=1))  # Saturday 2025-10-11: a 调休 make-up workday
    sent_before = len(app.messages())
    app.stack.fire("daily-summary")

    assert all(sp_no not in (m.get("content") or "") for m in app.messages()[sent_before:])
