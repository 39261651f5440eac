"""Two approvers of an `any` (或签) stage click at the same instant, in two concurrent worker
invocations that both read the stage as open: exactly one decides it and exactly one
SendTaskSuccess is sent. The same for a 会签 (all) stage, where each write alone would see the other
pending: the stage is decided once, not never. And a click on a card whose stage wait has not stored
its token yet: arming the wait resumes it, once."""

from __future__ import annotations

import threading

from local import motoshim
from local.stack import REGION
from tests.integration.approvals import helpers
from tests.integration.approvals.helpers import (
    card_for,
    cards_for,
    execution_status,
    final,
    submit,
    wait_until,
)

app = helpers.app  # fixture shared with tests/integration/approvals


def _take_queued(app, count: int) -> list[dict]:
    """Receive `count` records from the events queue without running the worker."""
    sqs, url = app.stack.client("sqs"), app.stack.physical["EventsQueue"]["Ref"]
    got: list[dict] = []

    def poll() -> bool:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            got.append({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                        "attributes": m.get("Attributes", {}), "messageAttributes": {}, "eventSource": "aws:sqs",
                        "eventSourceARN": app.stack.physical["EventsQueue"]["Arn"], "awsRegion": REGION})
        return len(got) >= count

    wait_until(poll, what=f"{count} queued events")
    return got


def test_given_any_stage_when_both_approvers_click_at_once_then_one_decision_and_one_task_success(
        app, monkeypatch) -> None:
    from wecom_oa.approvals import service as approvals
    from wecom_oa.approvals.store import ApprovalRepository

    # Given a two-stage expense whose first stage (财务预审) is `any` between zhaomin and qianjin
    a = submit(app, "expense", "zhangsan", {"amount": 3000, "reason": "展会物料"})
    card = card_for(app, a["id"], "zhaomin")
    assert set(card["recipients"]["userids"]) == {"zhaomin", "qianjin"}
    # ... and both workers get past the "stage is open" check before either records its decision
    # (the first write of each worker waits for the other's: the loser's retry does not)
    both_read = threading.Barrier(2, timeout=10)
    record = ApprovalRepository.record_click
    first_writes: set[int] = set()

    def record_after_both_read(self, *args, **kwargs):
        if threading.get_ident() not in first_writes:
            first_writes.add(threading.get_ident())
            both_read.wait()
        return record(self, *args, **kwargs)

    monkeypatch.setattr(ApprovalRepository, "record_click", record_after_both_read)
    successes: list[dict] = []
    send = approvals._send_task_success
    monkeypatch.setattr(approvals, "_send_task_success",
                        lambda token, output, log: (successes.append(output), send(token, output, log)))

    # When both click and their events are processed by two concurrent worker invocations
    for userid in ("zhaomin", "qianjin"):
        app.simulator.click(userid, card["task_id"], "approve")
    records = _take_queued(app, 2)
    results: list[tuple] = []
    workers = [threading.Thread(target=lambda r=r: results.append(
        motoshim.invoke_local("WeComEventsFunction", {"Records": [r]}, REGION))) for r in records]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    monkeypatch.setattr(ApprovalRepository, "record_click", record)
    app.stack.drain()

    # Then both decisions are recorded, but the stage is decided once and the execution resumed once
    assert len(results) == 2 and not any(is_error for _, is_error in results), results
    assert len(successes) == 1 and successes[0]["outcome"] == "approved"
    stage2 = card_for(app, a["id"], "wangjianguo")
    assert len(cards_for(app, a["id"], "wangjianguo")) == 1  # stage 2 opened exactly once
    detail = helpers.get(app, a["id"])["stages"][0]
    assert detail["status"] == "approved" and detail["decided_by"] == successes[0]["by"]
    assert {d["userid"] for d in detail["decisions"]} == {"zhaomin", "qianjin"}
    app.click("wangjianguo", stage2["task_id"], "approve")
    assert final(app, a["id"])["status"] == "approved"


fast_rules = helpers.fast_rules  # fixture: a 会签 (all) stage between zhaomin and qianjin for small claims


def test_given_all_stage_when_both_approvers_click_at_once_then_the_stage_is_decided_once_not_lost(
        fast_rules, monkeypatch) -> None:
    from wecom_oa.approvals import service as approvals
    from wecom_oa.approvals.store import ApprovalRepository

    # Given a 会签 stage that needs both zhaomin and qianjin
    a = submit(fast_rules, "expense", "zhangsan", {"amount": 800, "reason": "办公用品"})
    card = card_for(fast_rules, a["id"], "zhaomin")
    # ... and both workers read the stage (nobody decided yet) before either writes its decision
    both_read = threading.Barrier(2, timeout=10)
    record = ApprovalRepository.record_click
    first_writes: set[int] = set()

    def record_after_both_read(self, *args, **kwargs):
        if threading.get_ident() not in first_writes:
            first_writes.add(threading.get_ident())
            both_read.wait()
        return record(self, *args, **kwargs)

    monkeypatch.setattr(ApprovalRepository, "record_click", record_after_both_read)
    successes: list[dict] = []
    send = approvals._send_task_success
    monkeypatch.setattr(approvals, "_send_task_success",
                        lambda token, output, log: (successes.append(output), send(token, output, log)))

    # When both approve in two concurrent worker invocations
    for userid in ("zhaomin", "qianjin"):
        fast_rules.simulator.click(userid, card["task_id"], "approve")
    records = _take_queued(fast_rules, 2)
    results: list[tuple] = []
    workers = [threading.Thread(target=lambda r=r: results.append(
        motoshim.invoke_local("WeComEventsFunction", {"Records": [r]}, REGION))) for r in records]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    monkeypatch.setattr(ApprovalRepository, "record_click", record)

    # Then the write that saw the other's decision decides the stage: once, and the wait resumes once
    # (each alone would have seen the other pending and left the stage open for ever)
    assert len(results) == 2 and not any(is_error for _, is_error in results), results
    assert [s["outcome"] for s in successes] == ["approved"]
    body = final(fast_rules, a["id"])
    assert body["status"] == "approved"
    assert {d["userid"] for d in body["stages"][0]["decisions"]} == {"zhaomin", "qianjin"}


def test_given_a_click_before_the_opened_stage_waits_then_arming_the_wait_resumes_it_once(app, monkeypatch) -> None:
    from wecom_oa.approvals import service as approvals
    from wecom_oa.messaging import cards

    # Given stage 1's click opens stage 2 and sends its card, but the state machine's wait for stage 2
    # has not stored its token on the card yet
    a = submit(app, "expense", "zhangsan", {"amount": 3000, "reason": "展会物料"})
    stage1 = card_for(app, a["id"], "zhaomin")
    clicked = threading.Event()
    attach = cards.attach_token

    def attach_after_the_click(task_id, token):
        assert clicked.wait(15), "the stage-2 click was not processed"
        return attach(task_id, token)

    monkeypatch.setattr(cards, "attach_token", attach_after_the_click)
    successes: list[dict] = []
    send = approvals._send_task_success
    monkeypatch.setattr(approvals, "_send_task_success",
                        lambda token, output, log: (successes.append(output), send(token, output, log)))
    app.click("zhaomin", stage1["task_id"], "approve")
    stage2 = card_for(app, a["id"], "wangjianguo")

    # When wangjianguo approves before the wait is armed
    app.click("wangjianguo", stage2["task_id"], "approve")
    assert helpers.get(app, a["id"])["status"] == "approved"  # decided at once, nothing to resume yet
    assert [s["by"] for s in successes] == ["zhaomin"]
    clicked.set()

    # Then arming the wait finds the card closed and resumes it once: the approval finishes
    assert final(app, a["id"])["status"] == "approved"
    assert execution_status(app, a["id"]) == "SUCCEEDED"
    assert [(s["outcome"], s["by"]) for s in successes] == [("approved", "zhaomin"), ("approved", None)]
    assert [t for t in helpers.texts_to(app, "zhangsan") if a["id"] in t and "已通过" in t] != []
