"""In-memory send ledger: 30/min and 1000/h per app → member (the DynamoDB one: integration tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wecom_oa.wecom.ratelimit import MemorySendLedger

APP = "ww-corp#1000002"
T0 = datetime(2026, 1, 23, 9, 15, 20, tzinfo=UTC)


def test_given_31st_message_in_a_minute_then_deferred_to_next_minute():
    ledger = MemorySendLedger()
    for _ in range(30):
        assert ledger.reserve(APP, ["zhangsan"], T0).allowed == ["zhangsan"]

    plan = ledger.reserve(APP, ["zhangsan", "lisi"], T0 + timedelta(seconds=30))

    assert plan.allowed == ["lisi"]
    assert plan.deferred == {"zhangsan": datetime(2026, 1, 23, 9, 16, tzinfo=UTC)}
    assert plan.retry_at == datetime(2026, 1, 23, 9, 16, tzinfo=UTC)
    assert ledger.reserve(APP, ["zhangsan"], plan.retry_at).allowed == ["zhangsan"]


def test_given_hour_budget_spent_then_deferred_to_next_hour():
    ledger = MemorySendLedger(per_minute=30, per_hour=40)
    for minute in range(2):
        for _ in range(20):
            ledger.reserve(APP, ["zhangsan"], T0 + timedelta(minutes=minute))

    plan = ledger.reserve(APP, ["zhangsan"], T0 + timedelta(minutes=3))

    assert plan.deferred == {"zhangsan": datetime(2026, 1, 23, 10, 0, tzinfo=UTC)}
    assert ledger.reserve(APP, ["zhangsan"], datetime(2026, 1, 23, 10, 0, 1, tzinfo=UTC)).allowed == ["zhangsan"]


def test_given_other_app_then_budgets_are_separate():
    ledger = MemorySendLedger(per_minute=1)
    ledger.reserve(APP, ["u"], T0)

    assert ledger.reserve("ww-corp#1000003", ["u"], T0).allowed == ["u"]
    assert ledger.reserve(APP, ["u"], T0).allowed == []


def test_given_duplicates_and_at_all_then_each_member_counted_once_and_at_all_ignored():
    ledger = MemorySendLedger(per_minute=1)

    plan = ledger.reserve(APP, ["u", "u", "@all", ""], T0)

    assert plan.allowed == ["u"] and plan.deferred == {} and plan.retry_at is None
