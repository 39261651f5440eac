"""Two approvers of an `any` (或签) stage click at the same instant, in two concurrent worker
invocations that both read the stage as open: exactly one decides it and exactly one
SendTaskSuccess is sent."""

from __future__ import annotations

import threading

from local import motoshim
from local.stack import REGION
from tests.integration.approvals import helpers
from tests.integration.approvals.helpers import card_for, cards_for, final, submit, wait_until

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
    both_read = threading.Barrier(2, timeout=10)
    record = ApprovalRepository.record_decision

    def record_after_both_read(self, *args, **kwargs):
        both_read.wait()
        return record(self, *args, **kwargs)

    monkeypatch.setattr(ApprovalRepository, "record_decision", record_after_both_read)
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
    monkeypatch.setattr(ApprovalRepository, "record_decision", record)
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
