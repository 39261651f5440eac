"""Named paths of statemachines/approval.asl.json, executed by moto with our handlers, the WeCom
sandbox and a scaled virtual clock (helpers.SCALE)."""

from __future__ import annotations

import json

from tests.integration.approvals import helpers
from tests.integration.approvals.helpers import (
    capture_events,
    card_for,
    cards_for,
    execution_status,
    final,
    get,
    seen_by,
    submit,
    texts_to,
    wait_until,
)

app, fast_rules = helpers.app, helpers.fast_rules  # fixtures shared with tests/integration/approvals


def test_given_expense_of_1000_when_department_head_approves_then_one_stage_and_approved(app) -> None:
    a = submit(app, "expense", "zhangsan", {"amount": 1000, "reason": "办公用品"})
    assert [s["approvers"] for s in a["route"]] == [["lina"]]

    app.click("lina", card_for(app, a["id"], "lina")["task_id"], "approve")

    body = final(app, a["id"])
    assert body["status"] == "approved" and body["decided_by"] == "lina"
    assert [s["status"] for s in body["stages"]] == ["approved"]
    assert execution_status(app, a["id"]) == "SUCCEEDED"
    assert any("已通过" in t for t in texts_to(app, "zhangsan"))


def test_given_expense_over_1000_when_finance_then_manager_approve_then_two_stages_approved(app) -> None:
    a = submit(app, "expense", "zhangsan", {"amount": 1000.01, "reason": "展会物料"})
    assert [s["name"] for s in a["route"]] == ["财务预审", "总经理终审"]

    stage1 = card_for(app, a["id"], "qianjin")
    assert set(stage1["recipients"]["userids"]) == {"zhaomin", "qianjin"}
    assert cards_for(app, a["id"], "wangjianguo") == []  # stage 2 waits for stage 1
    app.click("qianjin", stage1["task_id"], "approve")
    app.click("wangjianguo", card_for(app, a["id"], "wangjianguo")["task_id"], "approve")

    body = final(app, a["id"])
    assert body["status"] == "approved"
    assert [(s["status"], s["decided_by"]) for s in body["stages"]] == [("approved", "qianjin"),
                                                                         ("approved", "wangjianguo")]


def test_given_two_stage_expense_when_rejected_at_stage_1_then_rejected_and_stage_2_never_asked(app) -> None:
    a = submit(app, "expense", "zhangsan", {"amount": 3000, "reason": "团建"})

    app.reject("zhaomin", card_for(app, a["id"], "zhaomin")["task_id"])

    body = final(app, a["id"])
    assert body["status"] == "rejected" and body["decided_by"] == "zhaomin"
    assert [s["status"] for s in body["stages"]] == ["rejected", "pending"]
    assert cards_for(app, a["id"], "wangjianguo") == []
    assert any("赵敏驳回，原因：材料不全" in t for t in texts_to(app, "zhangsan")), texts_to(app, "zhangsan")
    assert body["stages"][0]["reason"] == "材料不全"


def test_given_all_mode_stage_when_one_approves_and_one_rejects_then_rejected(fast_rules) -> None:
    app = fast_rules  # noqa: F811 - the app running the test rule set
    a = submit(app, "expense", "zhangsan", {"amount": 500, "reason": "资料费"})
    card = card_for(app, a["id"], "zhaomin")
    assert set(card["recipients"]["userids"]) == {"zhaomin", "qianjin"}

    app.click("zhaomin", card["task_id"], "approve")
    assert get(app, a["id"])["status"] == "pending"  # 会签: one approval is not enough
    app.reject("qianjin", card["task_id"])

    body = final(app, a["id"])
    assert body["status"] == "rejected" and body["ruleset_version"] == 7
    decisions = {d["userid"]: d["decision"] for d in body["stages"][0]["decisions"]}
    assert decisions == {"zhaomin": "approved", "qianjin": "rejected"}


def test_given_all_mode_stage_when_everyone_approves_then_approved(fast_rules) -> None:
    app = fast_rules  # noqa: F811 - the app running the test rule set
    a = submit(app, "expense", "zhangsan", {"amount": 200, "reason": "资料费"})
    card = card_for(app, a["id"], "zhaomin")

    app.click("qianjin", card["task_id"], "approve")
    app.click("zhaomin", card["task_id"], "approve")

    assert final(app, a["id"])["status"] == "approved"


def test_given_unanswered_stage_when_it_times_out_then_reminded_then_escalated_to_leader(fast_rules) -> None:
    app = fast_rules  # noqa: F811 - the app running the test rule set
    a = submit(app, "expense", "zhangsan", {"amount": 2000, "reason": "差旅"})

    card_for(app, a["id"], "lina", count=2)  # the reminder: a new round, a new card
    escalated = card_for(app, a["id"], "zhoujie")  # then lina's leader
    app.click("zhoujie", escalated["task_id"], "approve")

    body = final(app, a["id"])
    assert body["status"] == "approved" and body["decided_by"] == "zhoujie"
    stage = body["stages"][0]
    assert stage["round"] == 3 and stage["round_approvers"] == ["zhoujie"]
    assert len(cards_for(app, a["id"], "lina")) == 2


def test_given_late_click_on_a_superseded_card_then_it_changes_nothing(fast_rules) -> None:
    app = fast_rules  # noqa: F811 - the app running the test rule set
    a = submit(app, "expense", "zhangsan", {"amount": 2000, "reason": "差旅"})
    first = card_for(app, a["id"], "lina")
    card_for(app, a["id"], "lina", count=2)

    app.click("lina", first["task_id"], "approve")  # round 1 card, round 2 is open

    assert get(app, a["id"])["stages"][0]["decisions"] == []


def test_given_zero_annual_balance_when_leave_requested_then_auto_rejected_with_suggestion(app) -> None:
    a = submit(app, "leave", "lisi", {"leave_type": "annual", "start": "2026-03-05", "end": "2026-03-05",
                                      "days": 1, "handover_to": ["zhangsan"]})

    assert a["status"] == "auto_rejected" and a["outcome"] == "auto_reject" and a["route"] == []
    assert "调休（剩余 1.5 天）" in a["suggestion"] and "事假" in a["suggestion"]
    assert any("调休" in t for t in texts_to(app, "lisi"))
    assert execution_status(app, a["id"]) is None  # final at submit: nothing to run
    assert get(app, a["id"])["status"] == "auto_rejected"


def test_given_approved_leave_then_eventbridge_event_and_handover_reminders(app) -> None:
    read_events = capture_events(app)
    a = submit(app, "leave", "zhangsan", {"leave_type": "annual", "start": "2026-03-05", "end": "2026-03-06",
                                          "days": 2, "handover_to": ["lisi", "sunxiaomei"]})

    app.click("lina", card_for(app, a["id"], "lina")["task_id"], "approve")

    assert final(app, a["id"])["status"] == "approved"
    events = wait_until(read_events, what="EventBridge event")
    assert events[0]["detail-type"] == "approval.approved"
    detail = events[0]["detail"]
    detail = json.loads(detail) if isinstance(detail, str) else detail
    assert detail["id"] == a["id"] and detail["form"]["handover_to"] == ["lisi", "sunxiaomei"]
    for colleague in ("lisi", "sunxiaomei"):
        reminders = wait_until(lambda c=colleague: seen_by(app, c, "待办"), what="handover")  # a card or a text
        assert "张三" in reminders[0] and "2026-03-05" in reminders[0]


def _states_entered(app, approval_id: str) -> list[str]:
    sfn = app.stack.client("stepfunctions")
    arn = app.stack.physical["ApprovalStateMachine"]["Ref"]
    run = next(e for e in sfn.list_executions(stateMachineArn=arn)["executions"]
               if e["name"] == f"approval-{approval_id}")
    events = sfn.get_execution_history(executionArn=run["executionArn"], maxResults=1000)["events"]
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


def test_given_two_stages_when_each_is_approved_by_click_then_the_decision_leads_straight_to_the_next_wait(
        app) -> None:
    # Given a two-stage expense
    a = submit(app, "expense", "zhangsan", {"amount": 3000, "reason": "展会物料"})

    # When each stage is approved on its card
    app.click("qianjin", card_for(app, a["id"], "qianjin")["task_id"], "approve")
    app.click("wangjianguo", card_for(app, a["id"], "wangjianguo")["task_id"], "approve")
    assert final(app, a["id"])["status"] == "approved"

    # Then the click that decided stage 1 opened stage 2 (no NextStage in between), the last one went
    # to Finalize, which told the outcome itself; stage 2's card went out once and the applicant was told once
    assert _states_entered(app, a["id"]) == [
        "Evaluate", "RouteOutcome", "NextStage", "StagesLeft", "AwaitDecision", "StageDecided",
        "AwaitDecision", "StageDecided", "Finalize", "PublishOutcome", "Done"]
    assert len(cards_for(app, a["id"], "wangjianguo")) == 1
    assert len([t for t in texts_to(app, "zhangsan") if a["id"] in t and "已通过" in t]) == 1
