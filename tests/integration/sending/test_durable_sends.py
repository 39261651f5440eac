"""Durable app messages: a send that fails transiently is re-attempted from the queue until it lands,
exactly once, or parked for an operator; configuration errors park at once; inside a state machine
task the error is raised for the ASL to retry. The real WeCom client against the sandbox with its
fault plan (local/sandbox/faults.py); the queue is a list the test drains, on a manual clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from wecom_oa import wiring
from wecom_oa.aws.asl import asl_task
from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.errors import Conflict, NotFound, OAError
from wecom_oa.messaging.sending import RETRY_ATTEMPTS, RETRY_BACKOFF, PacedSender, about
from wecom_oa.wecom.errors import AllRecipientsInvalid, WeComFrequencyLimited
from wecom_oa.wecom.ratelimit import MemorySendLedger

USER = "zhangsan"


class Harness:
    def __init__(self, local_app: Any, clock: Any) -> None:
        self.app, self.clock = local_app, clock
        self.queue: list[dict[str, Any]] = []
        self.sender = PacedSender(wiring.wecom_client(), MemorySendLedger(), app_table(),
                                  lambda message, _delay: self.queue.append(message), clock=clock)

    def fault(self, **spec: Any) -> None:
        self.app.sandbox.faults.add({"path": "message/send", **spec})

    def run_queue(self, limit: int = 50) -> list[str]:
        """Deliver queued messages in order, moving the clock to each one's retry time first."""
        outcomes = []
        for _ in range(limit):
            if not self.queue:
                return outcomes
            message = self.queue.pop(0)
            item = app_table().get(Keys.pending_send(message["pending_id"]))
            if item is not None and item.get("retry_at"):
                due = datetime.fromisoformat(item["retry_at"])
                if due > self.clock.now():
                    self.clock.set(due)
            outcomes.append(self.sender.resume(message))
        raise AssertionError(f"the queue did not empty in {limit} deliveries: {outcomes}")

    def texts(self, userid: str = USER) -> list[str]:
        return [m["content"] for m in self.app.messages()
                if m["msgtype"] == "text" and userid in m["recipients"]["userids"]]

    def cards(self, userid: str = USER) -> list[str]:
        return [m["task_id"] for m in self.app.messages()
                if m["msgtype"] == "template_card" and userid in m["recipients"]["userids"]]


@pytest.fixture
def h(local_app, clock) -> Harness:
    return Harness(local_app, clock)


def _card(task_id: str) -> dict[str, Any]:
    return {"card_type": "button_interaction", "task_id": task_id, "main_title": {"title": "工单 T-1"},
            "button_list": [{"text": "接单", "key": "accept", "style": 1}]}


@pytest.mark.parametrize("fault", [
    {"errcode": 45009, "times": 5},
    {"errcode": 45033, "times": 5},
    {"errcode": -1, "times": 5},
    {"kind": "http_status", "http_status": 502, "times": 5},
    {"kind": "reset", "times": 5},
    {"kind": "timeout", "times": 5},
    {"kind": "garbage", "times": 5},
], ids=lambda f: str(f.get("errcode") or f.get("http_status") or f["kind"]))
def test_given_a_transient_fault_when_a_card_is_sent_then_it_arrives_once_after_it(h, fault) -> None:
    h.fault(msgtype="template_card", **fault)

    with about(ticket_id="T-1"):
        result = h.sender.send_template_card(_card("tkt-1"), touser=[USER])

    assert h.cards() == [] and result.deferred == [USER]
    record = app_table().get(Keys.pending_send(result.pending_ids[0]))
    assert record["kind"] == "retry" and record["ref"] == {"ticket_id": "T-1"} and record["last_error"]
    outcomes = h.run_queue()
    assert outcomes[-1] == "done"
    assert h.cards() == ["tkt-1"], "the card keeps its task id and arrives once"
    assert app_table().get(Keys.pending_send(result.pending_ids[0])) is None


@pytest.mark.parametrize("kind", ["reset", "timeout", "garbage", "http_status"])
def test_given_the_answer_is_lost_after_the_message_landed_then_the_retry_delivers_nothing_twice(h, kind) -> None:
    extra = {"http_status": 502} if kind == "http_status" else {}
    h.fault(kind=kind, after=True, times=1, **extra)
    h.fault(kind=kind, after=True, times=1, msgtype="template_card", **extra)

    text = h.sender.send_text("您的报销单已通过", touser=[USER])
    card = h.sender.send_template_card(_card("tkt-2"), touser=[USER])

    assert text.pending_ids and card.pending_ids, "an ambiguous failure is not taken as delivered"
    assert h.run_queue() == ["done", "done"]
    assert h.texts() == ["您的报销单已通过"], "the re-send is dropped by WeCom's duplicate check"
    assert h.cards() == ["tkt-2"], "the re-sent card is refused as a reused task id (42014)"


def test_given_30_minutes_of_throttling_then_the_message_waits_it_out_and_arrives_once(h) -> None:
    start = h.clock.now()
    h.fault(errcode=45009, seconds=30 * 60)

    result = h.sender.send_text("请于今日提交日报", touser=[USER])
    outcomes = h.run_queue()

    assert h.texts() == ["请于今日提交日报"]
    assert outcomes.count("retrying") >= 4 and outcomes[-1] == "done"
    assert "parked" not in outcomes
    assert h.clock.now() - start >= timedelta(minutes=30)
    assert app_table().get(Keys.pending_send(result.pending_ids[0])) is None


def test_given_an_outage_beyond_the_budget_then_parked_listed_and_replayed_once(h) -> None:
    h.fault(kind="http_status", http_status=503, seconds=sum(RETRY_BACKOFF) + 3600)

    with about(approval_id="A-7"):
        result = h.sender.send_text("审批结果通知", touser=[USER])
    outcomes = h.run_queue()

    assert outcomes[-1] == "parked" and len(outcomes) == RETRY_ATTEMPTS - 1
    (parked,) = h.sender.parked()
    assert parked["id"] == result.pending_ids[0] and parked["ref"] == {"approval_id": "A-7"}
    assert parked["attempts"] == RETRY_ATTEMPTS and "WeComServerError" in parked["last_error"]
    assert h.texts() == []

    h.clock.advance(3600)  # WeCom is back
    assert h.sender.replay(parked["id"])["status"] == "pending"
    with pytest.raises(Conflict, match="not parked"):
        h.sender.replay(parked["id"])
    assert h.run_queue() == ["done"]
    assert h.texts() == ["审批结果通知"]
    assert h.sender.parked() == []
    with pytest.raises(NotFound):
        h.sender.replay("no-such-send")


def test_given_a_configuration_error_then_parked_at_once_without_retrying(h) -> None:
    h.fault(errcode=60020, times=100)

    result = h.sender.send_text("工单已受理", touser=[USER])

    assert h.queue == [] and h.texts() == []
    (parked,) = h.sender.parked()
    assert parked["id"] == result.pending_ids[0] and "IpNotTrusted" in parked["last_error"]
    assert parked["attempts"] == 1


def test_given_a_refused_recipient_then_the_error_is_raised_not_retried(h) -> None:
    with pytest.raises(AllRecipientsInvalid):
        h.sender.send_text("hi", touser=["nobody-here"])
    assert h.queue == []


def test_given_a_state_machine_task_then_the_transient_error_is_raised_for_the_asl_retry(h) -> None:
    h.fault(errcode=45009, times=1)

    @asl_task
    def task() -> None:
        h.sender.send_text("阶段卡片", touser=[USER])

    with pytest.raises(Exception) as raised:
        task()
    assert type(raised.value).__name__ == "UpstreamThrottled"
    assert isinstance(raised.value.__cause__, WeComFrequencyLimited)
    assert h.queue == [] and h.sender.parked() == []


def _clicked(h, task_id: str) -> str:
    """A card sent to USER, clicked: the click's single-use response code."""
    h.sender.send_template_card(_card(task_id), touser=[USER])
    return h.app.sandbox.issue_click_response_code(task_id, USER, "accept")


def _updates(h, task_id: str) -> list[str]:
    return [m["replace_name"] for m in h.app.messages()
            if m.get("api") == "message/update_template_card" and m["task_id"] == task_id]


@pytest.mark.parametrize("fault", [
    {"errcode": 45009, "times": 3},
    {"kind": "http_status", "http_status": 502, "times": 3},
    {"kind": "reset", "times": 2},
    {"kind": "timeout", "times": 2},
    {"kind": "timeout", "times": 1, "after": True},   # landed, answer lost: the retry finds its code taken
    {"kind": "garbage", "times": 1, "after": True},
], ids=lambda f: f"{f.get('errcode') or f.get('http_status') or f['kind']}{'-after' if f.get('after') else ''}")
def test_given_a_transient_fault_when_a_card_is_greyed_out_then_the_update_lands_once(h, fault) -> None:
    code = _clicked(h, "tkt-u1")
    h.app.sandbox.faults.add({"path": "message/update_template_card", **fault})

    with about(ticket_id="T-9"):
        result = h.sender.update_template_card(code, userids=[USER], replace_name="已接单")

    assert result.pending_ids, "a failed update is queued, not dropped"
    assert h.run_queue()[-1] == "done"
    assert _updates(h, "tkt-u1") == ["已接单"]
    assert app_table().get(Keys.pending_send(result.pending_ids[0])) is None


def test_given_a_state_machine_task_then_a_failed_card_update_is_queued_not_raised(h) -> None:
    code = _clicked(h, "tkt-u2")
    h.app.sandbox.faults.add({"path": "message/update_template_card", "errcode": 45009, "times": 1})

    @asl_task
    def task() -> None:  # a retried task would find the code taken: the update must not depend on it
        h.sender.update_template_card(code, userids=[USER], replace_name="已同意")

    task()
    assert h.run_queue() == ["done"]
    assert _updates(h, "tkt-u2") == ["已同意"]


def test_given_a_used_code_on_the_first_attempt_then_the_caller_hears_of_it(h) -> None:
    code = _clicked(h, "tkt-u3")
    h.sender.update_template_card(code, userids=[USER], replace_name="已接单")

    with pytest.raises(OAError):
        h.sender.update_template_card(code, userids=[USER], replace_name="已接单")
    assert h.queue == [] and _updates(h, "tkt-u3") == ["已接单"]
