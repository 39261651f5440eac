"""The paced sender end to end on the local stack: ledger in DynamoDB, deferral through the events
queue and its worker, delivery by the WeCom sandbox."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from wecom_oa import wiring
from wecom_oa.aws.dynamo import Keys, app_table

USER = "zhangsan"


def _texts_to(local_app, userid: str) -> list[str]:
    return [m["content"] for m in local_app.messages()
            if m["msgtype"] == "text" and userid in m["recipients"]["userids"]]


def test_given_31_messages_in_a_minute_when_sent_then_30_now_and_the_31st_after_the_window(local_app, clock):
    sender = wiring.sender()
    results = [sender.send_text(f"消息 {i}", touser=[USER]) for i in range(31)]

    assert _texts_to(local_app, USER) == [f"消息 {i}" for i in range(30)]
    assert results[-1].deferred == [USER]
    assert results[-1].retry_at == datetime(2026, 1, 23, 9, 16, tzinfo=UTC)

    local_app.stack.drain()  # the worker finds it not yet due and delays it again
    assert len(_texts_to(local_app, USER)) == 30

    clock.advance(timedelta(seconds=40))
    time.sleep(1.2)  # the re-delay is REDELAY_MIN_SECONDS of real time (SQS DelaySeconds, honoured by moto)
    local_app.stack.drain()

    assert _texts_to(local_app, USER) == [f"消息 {i}" for i in range(31)]
    assert app_table().get(Keys.pending_send(results[-1].pending_ids[0])) is None


def test_given_a_member_over_the_limit_when_sent_to_a_group_then_only_that_member_waits(local_app, clock):
    sender = wiring.sender()
    for i in range(30):
        sender.send_text(f"早 {i}", touser=[USER])

    result = sender.send_text("通知", touser=[USER, "lisi"])

    assert result.deferred == [USER]
    assert _texts_to(local_app, "lisi") == ["通知"]
    clock.advance(timedelta(minutes=1))
    local_app.stack.drain()
    assert _texts_to(local_app, USER)[-1] == "通知"
    assert _texts_to(local_app, "lisi") == ["通知"]


def test_given_the_ledger_when_reserving_then_its_items_use_the_shared_key_builder(local_app, clock):
    wiring.sender().send_text("一条", touser=[USER])

    hour = clock.now().replace(minute=0, second=0, microsecond=0)
    item = app_table().get(Keys.send_ledger(str(wiring.wecom_client().agent_id), USER, hour))
    assert item is not None and item["h"] == 1
