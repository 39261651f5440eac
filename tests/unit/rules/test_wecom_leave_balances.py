"""WeCom leave quotas (seconds) become balances in days: 86 400 s per day for day-based types, the
type's own `perday_duration` for hourly ones (oa/vacation/getcorpconf)."""

from __future__ import annotations

from decimal import Decimal

from wecom_oa.approvals.prechecks import default_templates
from wecom_oa.approvals.service import WeComLeaveBalances
from wecom_oa.wecom.client import VacationConfig, VacationQuota
from wecom_oa.wecom.errors import WeComConfigError


class _Corp:
    """WeCom answering with fixed quotas and leave-type configuration (or refusing the latter)."""

    def __init__(self, quotas: list[VacationQuota], configs: list[VacationConfig] | Exception) -> None:
        self.quotas, self.configs = quotas, configs

    def oa_get_user_vacation_quota(self, userid: str) -> list[VacationQuota]:
        return self.quotas

    def oa_get_vacation_config(self) -> list[VacationConfig]:
        if isinstance(self.configs, Exception):
            raise self.configs
        return self.configs


QUOTAS = [VacationQuota(id=1, vacationname="年假", leftduration=3 * 86_400),
          VacationQuota(id=4, vacationname="调休", leftduration=12 * 3600)]


def test_given_hourly_comp_time_of_8h_days_when_balances_read_then_12_hours_are_1_5_days() -> None:
    configs = [VacationConfig(id=1, name="年假", time_attr=0, perday_duration=86_400),
               VacationConfig(id=4, name="调休", time_attr=1, perday_duration=8 * 3600)]

    balances = WeComLeaveBalances(_Corp(QUOTAS, configs), default_templates()).balances("lisi")

    assert balances == {"annual": Decimal(3), "comp_time": Decimal("1.5")}


def test_given_day_based_type_with_a_stray_perday_duration_then_days_are_24h() -> None:
    configs = [VacationConfig(id=1, name="年假", time_attr=0, perday_duration=28_800)]

    balances = WeComLeaveBalances(_Corp(QUOTAS[:1], configs), default_templates()).balances("lisi")

    assert balances == {"annual": Decimal(3)}


def test_given_config_refused_when_balances_read_then_days_fall_back_to_24h() -> None:
    refused = WeComConfigError("no permission", api="oa/vacation/getcorpconf", errcode=301002)

    balances = WeComLeaveBalances(_Corp(QUOTAS, refused), default_templates()).balances("lisi")

    assert balances == {"annual": Decimal(3), "comp_time": Decimal("0.5")}
