"""The digest function end to end: template schedule → handler → open items (gsi1) → sandbox WeCom."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.integration.digests.support import FIXTURES, ROBOT_KEY, shanghai, use_test_config


@pytest.fixture
def open_items(local_app) -> list[dict]:
    from wecom_oa.aws.dynamo import app_table

    items = json.loads((FIXTURES / "open_items.json").read_text(encoding="utf-8"))
    for item in items:
        app_table().put(item)
    return items


def _summaries(app) -> list[dict]:
    return [m for m in app.messages() if m["msgtype"] == "markdown" and "待办汇总" in (m.get("content") or "")]


def test_given_a_workday_when_daily_summary_fires_then_each_group_gets_its_summary_on_its_channel(
        local_app, open_items, clock):
    clock.set(shanghai("2025-10-10 18:00"))

    result = local_app.stack.fire("daily-summary")

    assert result["status"] == "done"
    by_channel = {("robot" if m.get("robot") else "app"): m for m in _summaries(local_app)}
    robot, app = by_channel["robot"], by_channel["app"]
    assert robot["robot"] == "project-group" and "阿波罗项目组" in robot["content"]
    assert "https://oa.test/tickets/T-101" in robot["content"] and "<@zhangsan>" in robot["content"]
    assert "https://oa.test/approvals/A-1" in robot["content"]
    assert "T-201" not in robot["content"]  # another group's ticket
    assert "赫尔墨斯项目组" in app["content"] and sorted(app["recipients"]["userids"]) == ["lina", "zhoujie"]


def test_given_daily_summary_ran_when_the_schedule_fires_again_in_the_period_then_nothing_is_resent(
        local_app, open_items, clock):
    clock.set(shanghai("2025-10-10 18:00"))
    local_app.stack.fire("daily-summary")
    sent = len(_summaries(local_app))
    clock.advance(timedelta(minutes=7))  # a scheduler retry / duplicate delivery

    again = local_app.stack.fire("daily-summary")

    assert again["status"] == "duplicate"
    assert len(_summaries(local_app)) == sent == 2


@pytest.mark.parametrize(("when", "sends"), [
    ("2025-10-01 18:00", False),  # National Day holiday (a Wednesday)
    ("2025-10-11 18:00", True),   # 调休 make-up Saturday
    ("2025-10-12 18:00", False),  # ordinary Sunday
])
def test_given_the_business_calendar_when_daily_summary_fires_then_it_sends_only_on_workdays(
        local_app, open_items, clock, when, sends):
    clock.set(shanghai(when))

    result = local_app.stack.fire("daily-summary")

    assert (result["status"] == "done") is sends
    assert bool(_summaries(local_app)) is sends


def test_given_a_robot_key_wecom_rejects_when_the_summary_fires_then_it_fails_loudly_and_a_retry_sends_only_the_missing(
        local_app, open_items, clock, capsys, caplog):
    from wecom_oa.aws.dynamo import app_table
    from wecom_oa.digests.store import RunStore

    clock.set(shanghai("2025-10-10 18:00"))
    use_test_config(robot_key="0000dead-0000-4000-8000-000000000000")

    with pytest.raises(RuntimeError, match="DigestDeliveryFailed"):
        local_app.stack.fire("daily-summary")

    assert [m for m in _summaries(local_app) if not m.get("robot")]  # the other group still got its summary
    assert not [m for m in _summaries(local_app) if m.get("robot")]
    record = RunStore(app_table()).get("daily-summary:2025-10-10")
    assert record["status"] == "failed" and record["failures"] == ["group:proj-apollo"]
    errors = [r for r in caplog.records if r.levelname == "ERROR" and r.getMessage() == "digest delivery failed"]
    assert [(r.error, r.errcode) for r in errors] == [("RobotWebhookInvalid", 93000)]
    assert '"DigestDeliveryFailed":[1.0]' in capsys.readouterr().out  # EMF metric for the operator alarm
    assert not any("0000dead" in r.getMessage() + str(r.__dict__) for r in caplog.records)  # a credential

    use_test_config(robot_key=ROBOT_KEY)  # the operator fixes the key; the scheduler retries
    clock.advance(timedelta(minutes=2))
    retried = local_app.stack.fire("daily-summary")

    assert retried["status"] == "done"
    channels = sorted("robot" if m.get("robot") else "app" for m in _summaries(local_app))
    assert channels == ["app", "robot"]  # the app group was not sent twice


def test_given_no_open_items_when_daily_summary_fires_then_nothing_is_sent(local_app, clock):
    clock.set(shanghai("2025-10-10 18:00"))

    local_app.stack.fire("daily-summary")

    assert _summaries(local_app) == []
