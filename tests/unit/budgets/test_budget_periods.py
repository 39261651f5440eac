"""Budget periods are calendar months, quarters and years in Asia/Shanghai; remaining = budget − spent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wecom_oa.budgets.domain import BudgetConfig, period_key, remaining
from wecom_oa.budgets.store import status_of

CST = timezone(timedelta(hours=8))


@pytest.mark.parametrize(("when", "kind", "key"), [
    (datetime(2026, 3, 31, 23, 30, tzinfo=CST), "month", "2026-03"),    # still March in Shanghai
    (datetime(2026, 3, 31, 16, 0, tzinfo=UTC), "month", "2026-04"),     # 00:00 April 1st in Shanghai
    (datetime(2026, 3, 31, 15, 59, 59, tzinfo=UTC), "month", "2026-03"),
    (datetime(2026, 3, 31, 23, 30, tzinfo=CST), "quarter", "2026-Q1"),
    (datetime(2026, 4, 1, 0, 0, tzinfo=CST), "quarter", "2026-Q2"),
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "quarter", "2027-Q1"),
    (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "year", "2027"),
    (datetime(2026, 12, 31, 15, 59, tzinfo=UTC), "year", "2026"),
])
def test_given_instant_near_a_boundary_then_period_is_the_shanghai_calendar_one(when, kind, key) -> None:
    assert period_key(when, kind) == key


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
def test_given_any_instant_then_month_lies_in_its_quarter_and_year(naive) -> None:
    when = naive.replace(tzinfo=UTC)
    month, quarter, year = (period_key(when, k) for k in ("month", "quarter", "year"))
    local = when.astimezone(CST)

    assert month == f"{local.year}-{local.month:02d}"
    assert quarter == f"{year}-Q{(int(month[5:]) + 2) // 3}" and month.startswith(year)


def test_given_naive_time_then_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        period_key(datetime(2026, 3, 31, 23, 30), "month")


def test_given_budget_and_spent_then_remaining_is_the_difference_even_below_zero() -> None:
    assert remaining(Decimal("50000"), Decimal("49200.50")) == Decimal("799.50")
    assert remaining(Decimal("1000"), Decimal("1200")) == Decimal("-200")
    assert remaining(None, Decimal("1200")) is None


def test_given_api_budget_for_the_period_then_it_wins_over_the_yaml_one() -> None:
    config = BudgetConfig(departments={9: Decimal("50000")})

    from_api = status_of(config, 9, "2026-03", {"budget": 80000, "spent": 1234.56})
    from_yaml = status_of(config, 9, "2026-03", {"spent": 1234.56})
    unlisted = status_of(config, 3, "2026-03", {"spent": 10})

    assert (from_api.source, from_api.remaining) == ("api", Decimal("78765.44"))
    assert (from_yaml.source, from_yaml.remaining) == ("config", Decimal("48765.44"))
    assert (unlisted.source, unlisted.budget, unlisted.remaining, unlisted.spent) == ("none", None, None, Decimal(10))
