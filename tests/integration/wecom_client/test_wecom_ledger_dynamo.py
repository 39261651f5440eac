"""DynamoSendLedger on moto: conditional ADD counters per member per minute/hour with TTL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from wecom_oa.wecom.ratelimit import DynamoSendLedger, ledger_key

APP = "ww-corp#1000002"
T0 = datetime(2026, 1, 23, 9, 15, 20, tzinfo=UTC)


def test_given_30_sends_in_a_minute_then_31st_deferred_to_next_minute(table):
    ledger = DynamoSendLedger(table)
    for _ in range(30):
        assert ledger.reserve(APP, ["zhangsan"], T0).allowed == ["zhangsan"]

    plan = ledger.reserve(APP, ["zhangsan", "lisi"], T0 + timedelta(seconds=10))

    assert plan.allowed == ["lisi"]
    assert plan.retry_at == datetime(2026, 1, 23, 9, 16, tzinfo=UTC)
    assert ledger.reserve(APP, ["zhangsan"], plan.retry_at).allowed == ["zhangsan"]


def test_given_hour_budget_spent_then_deferred_to_next_hour(table):
    ledger = DynamoSendLedger(table, per_minute=30, per_hour=5)
    for minute in range(5):
        ledger.reserve(APP, ["zhangsan"], T0 + timedelta(minutes=minute))

    plan = ledger.reserve(APP, ["zhangsan"], T0 + timedelta(minutes=6))

    assert plan.deferred == {"zhangsan": datetime(2026, 1, 23, 10, 0, tzinfo=UTC)}


def test_given_counter_item_then_it_has_a_ttl_after_its_hour(table):
    DynamoSendLedger(table).reserve(APP, ["zhangsan"], T0)

    item = table.get(ledger_key(APP, "zhangsan", T0.replace(minute=0, second=0)))
    assert (item["h"], item["m15"]) == (1, 1)
    assert item["expires_at"] == int(datetime(2026, 1, 23, 11, 0, tzinfo=UTC).timestamp())


def test_given_concurrent_reservations_for_one_member_then_never_more_than_the_limit(table):
    ledger = DynamoSendLedger(table)

    with ThreadPoolExecutor(8) as pool:
        plans = list(pool.map(lambda _: ledger.reserve(APP, ["zhangsan"], T0), range(40)))

    assert sum(len(p.allowed) for p in plans) == 30
    assert sum(len(p.deferred) for p in plans) == 10
