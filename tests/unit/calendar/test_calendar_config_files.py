"""Loading calendars.yaml and the explanation texts: the shipped files load, bad files name file and field."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from wecom_oa.errors import ConfigurationError
from wecom_oa.worktime.calendar import BusinessCalendar, CalendarConfig, load_calendars, load_sla_texts


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_given_shipped_calendars_when_loaded_then_default_7x24_and_team_override_exist():
    calendars = load_calendars()

    assert {"default", "7x24", "factory-support"} <= set(calendars.names)
    assert calendars.get().config.timezone == "Asia/Shanghai"
    assert [(w.start, w.end) for w in calendars.get().config.windows] == [("09:00", "12:00"), ("13:00", "18:00")]
    # `extends: default` inherits what the team calendar does not set.
    assert calendars.get("factory-support").config.chinese_holidays is True


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("calendars:\n  default:\n    windows: [{start: '09:00', end: '25:00'}]\n", "calendars.default: windows.0.end"),
        ("calendars:\n  default:\n    timezone: Asia/Nowhere\n", "calendars.default: timezone"),
        ("calendars:\n  default:\n    weekdays: [0, 1]\n", "calendars.default: weekdays"),
        (
            "calendars:\n  default:\n    windows: [{start: '09:00', end: '12:00'}, {start: '11:00', end: '14:00'}]\n",
            "overlap",
        ),
        ("calendars:\n  default:\n    workdays: [1]\n", "calendars.default: workdays"),
        ("calendars:\n  default: {}\n  team:\n    extends: missing\n", "calendars.team.extends"),
        ("calendars:\n  a: {extends: b}\n  b: {extends: a}\ndefault: a\n", "cycle"),
        ("calendars:\n  main: {}\n", "default calendar 'default'"),
        ("calendars:\n  default: {}\nteams: {ops: nope}\n", "teams"),
        ("calendars: [\n", "invalid YAML"),
    ],
)
def test_given_a_bad_calendar_file_when_loaded_then_error_names_file_and_field(tmp_path, body, expected):
    path = write(tmp_path, "calendars.yaml", body)

    with pytest.raises(ConfigurationError) as err:
        load_calendars(path)

    assert err.value.message.startswith("calendars.yaml")
    assert expected in err.value.message


def test_given_a_missing_file_when_loaded_then_configuration_error(tmp_path):
    with pytest.raises(ConfigurationError, match=r"nowhere\.yaml: cannot read"):
        load_calendars(tmp_path / "nowhere.yaml")


def test_given_texts_with_unknown_placeholder_when_loaded_then_error_names_the_key(tmp_path):
    shipped = load_sla_texts().model_dump()
    shipped["skipped"] = "，已跳过{days}"
    path = write(tmp_path, "sla.yaml", yaml.safe_dump(shipped, allow_unicode=True))

    with pytest.raises(ConfigurationError) as err:
        load_sla_texts(path)

    assert "sla.yaml" in err.value.message and "skipped" in err.value.message and "days" in err.value.message


def test_given_edited_texts_when_explaining_then_the_company_wording_is_used(tmp_path):
    shipped = load_sla_texts().model_dump()
    shipped["deadline_business"] = "到期 {deadline}（{duration}，起点 {start}）"
    texts = load_sla_texts(write(tmp_path, "sla.yaml", yaml.safe_dump(shipped, allow_unicode=True)))
    calendar = BusinessCalendar(CalendarConfig(), texts)

    start = datetime(2025, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    text = calendar.explain_deadline(start, timedelta(hours=2))

    assert text == "到期 11月20日 周四 11:00（2 小时，起点 11月20日 周四 09:00）"
