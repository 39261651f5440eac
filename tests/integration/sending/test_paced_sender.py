"""PacedSender with the memory ledger, a recording client and the stack's table: the hourly bound,
deferred cards and redelivered queue messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from wecom_oa.aws.dynamo import Keys, app_table
from wecom_oa.clock import ManualClock
from wecom_oa.messaging.sending import MAX_DELAY_SECONDS, PacedSender
from wecom_oa.wecom.client import SendResult, base_task_id
from wecom_oa.wecom.errors import TaskIdDuplicate
from wecom_oa.wecom.ratelimit import MemorySendLedger

HOUR = datetime(2026, 1, 23, 9, 0, tzinfo=UTC)


class RealTimeClock(ManualClock):
    """A manual clock whose seconds are real seconds (as in Lambda), so SQS delays are visible."""

    def real_seconds(self, seconds: float) -> float:
        return max(0.0, seconds)


class RecordingClient:
    """Stands in for WeComClient: records each app message; refuses a reused card task id (42014)."""

    agent_id = 1000002

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def _record(self, msgtype: str, body: Any, touser: Any) -> SendResult:
        task_id = body.get("task_id") if isinstance(body, dict) else None
        if task_id and any(m["task_id"] == task_id for m in self.sent):
            raise TaskIdDuplicate(f"task_id {task_id} used", api="message/send", errcode=42014)
        self.sent.append({"msgtype": msgtype, "body": body, "touser": list(touser), "task_id": task_id})
        return SendResult(calls=1, task_ids=[task_id] if task_id else [])

    def send_text(self, content: str, *, touser=(), toparty=(), totag=(), **_: Any) -> SendResult:
        return self._record("text", content, touser)

    def send_template_card(self, card: dict, *, touser=(), toparty=(), totag=(), **_: Any) -> SendResult:
        return self._record("template_card", dict(card), touser)

    def to(self, userid: str) -> list[dict[str, Any]]:
        return [m for m in self.sent if userid in m["touser"]]


@pytest.fixture
def queue() -> list[tuple[dict, int]]:
    return []


@pytest.fixture
def parts(local_stack, queue):
    clock = RealTimeClock(HOUR)
    client = RecordingClient()
    sender = PacedSender(client, MemorySendLedger(), app_table(), lambda m, d: queue.append((m, d)), clock=clock)
    return sender, client, clock


def test_given_1000_messages_in_an_hour_when_the_1001st_is_sent_then_it_waits_for_the_next_hour(parts, queue):
    sender, client, clock = parts
    for i in range(1000):  # 30 a minute: within the minute limit, so only the hour limit binds
        assert sender.send_text(f"m{i}", touser=["zhangsan"]).deferred == []
        clock.advance(2)

    late = sender.send_text("m1000", touser=["zhangsan"])

    assert len(client.to("zhangsan")) == 1000
    assert late.retry_at == HOUR + timedelta(hours=1)
    message, delay = queue.pop()
    assert delay == MAX_DELAY_SECONDS  # 26 min away: the worker has to look again

    assert sender.resume(message) == "waiting"
    assert queue.pop()[1] == MAX_DELAY_SECONDS
    clock.set(HOUR + timedelta(hours=1))
    assert sender.resume(message) == "done"
    assert [m["body"] for m in client.to("zhangsan")][-1] == "m1000"
    assert len(client.to("zhangsan")) == 1001


def test_given_a_deferred_card_when_resumed_then_its_task_id_maps_back_to_the_registered_card(parts, queue):
    sender, client, clock = parts
    for i in range(30):
        sender.send_text(f"m{i}", touser=["zhangsan"])
    card = {"card_type": "button_interaction", "task_id": "APV1-1-0-0", "main_title": {"title": "请审批"}}

    first = sender.send_template_card(card, touser=["zhangsan", "lisi"])
    clock.advance(60)
    sender.resume(queue.pop()[0])

    assert first.task_ids == ["APV1-1-0-0"] and first.deferred == ["zhangsan"]
    later = client.to("zhangsan")[-1]
    assert later["msgtype"] == "template_card" and later["task_id"] != "APV1-1-0-0"
    assert base_task_id(later["task_id"]) == "APV1-1-0-0"


def test_given_a_redelivered_message_when_resumed_again_then_nothing_is_sent_twice(parts, queue):
    sender, client, clock = parts
    for i in range(30):
        sender.send_text(f"m{i}", touser=["zhangsan"])
    result = sender.send_text("迟到", touser=["zhangsan"])
    message, _ = queue.pop()
    clock.advance(60)

    outcomes = [sender.resume(message), sender.resume(message)]

    assert outcomes == ["done", "gone"]
    assert [m["body"] for m in client.to("zhangsan")].count("迟到") == 1
    assert app_table().get(Keys.pending_send(result.pending_ids[0])) is None


def test_given_a_card_attempt_that_crashed_after_sending_when_redelivered_then_the_card_is_not_repeated(
        parts, queue):
    sender, client, clock = parts
    for i in range(30):
        sender.send_text(f"m{i}", touser=["zhangsan"])
    sender.send_template_card({"card_type": "text_notice", "task_id": "NTC1"}, touser=["zhangsan"])
    message, _ = queue.pop()
    clock.advance(60)
    sender._settle = lambda record, plan: (_ for _ in ()).throw(RuntimeError("crash"))  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        sender.resume(message)
    del sender._settle

    assert sender.resume(message) == "done"
    assert len([m for m in client.to("zhangsan") if m["msgtype"] == "template_card"]) == 1


def test_given_a_message_for_an_older_version_when_resumed_then_it_is_dropped_as_stale(parts, queue):
    sender, client, clock = parts
    for i in range(30):
        sender.send_text(f"m{i}", touser=["zhangsan"])
    sender.send_text("一", touser=["zhangsan"])
    old, _ = queue.pop()
    # Re-deferred by the minute limit again: the record moves to version 2, with a new message.
    clock.advance(60)
    for i in range(30):
        sender.send_text(f"n{i}", touser=["zhangsan"])
    assert sender.resume(old) == "deferred"
    new, _ = queue.pop()

    assert sender.resume(old) == "stale"
    clock.advance(60)
    assert sender.resume(new) == "done"
    assert [m["body"] for m in client.to("zhangsan")].count("一") == 1
