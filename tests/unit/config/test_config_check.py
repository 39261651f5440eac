"""`make check` names every configuration mistake with its file, line and the file's own key path,
and every userid, department and robot the files name that the directory lacks; exit 1 when any."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from wecom_oa.cli.rules_check import main
from wecom_oa.settings import PACKAGE_DIR

CONFIG = PACKAGE_DIR / "config"
DEMO = PACKAGE_DIR.parents[2] / "local" / "sandbox" / "demo_directory.yaml"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy)
    return copy


def _check(config: Path, capsys) -> tuple[int, str]:
    code = main(["--dir", str(config / "approval_rules"), "--directory", str(DEMO)])
    return code, capsys.readouterr().out


def _edit(path: Path, old: str, new: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


def test_given_the_shipped_config_and_demo_company_then_everything_checks(config, capsys) -> None:
    code, out = _check(config, capsys)

    assert code == 0, out
    for name in ("calendars.yaml", "ticket_types.yaml", "sla_policies.yaml", "digests.yaml", "quiet_hours.yaml"):
        assert f"ok   {name}" in out, out


def test_given_a_wrong_field_type_then_its_line_and_the_templates_own_key_are_named(config, capsys) -> None:
    line = _edit(config / "ticket_types.yaml", "type: money,", "type: moneyy,")

    code, out = _check(config, capsys)

    assert code == 1
    assert f"ticket_types.yaml:{line}: templates.equipment_repair.fields." in out, out
    assert ".type: Input should be 'text'" in out


def test_given_an_invalid_schedule_time_then_its_line_is_named(config, capsys) -> None:
    line = _edit(config / "digests.yaml", "cron(0 18 ? * * *)", "cron(0 25 ? * * *)")

    code, out = _check(config, capsys)

    assert code == 1
    assert f"digests.yaml:{line}: schedules.0.expression: schedule 'daily-summary'" in out and "25" in out, out


def test_given_names_the_directory_lacks_then_each_is_named_where_it_is_written(config, capsys) -> None:
    user_line = _edit(config / "ticket_types.yaml", "dispatchers: [zhangsan]", "dispatchers: [zhangsan, nobody9]")
    robot_line = _edit(config / "digests.yaml", "ref: factory-group}", "ref: factory-grp}")

    code, out = _check(config, capsys)

    assert code == 1
    assert f"ticket_types.yaml:{user_line}: teams.tech_support.dispatchers: unknown userid 'nobody9'" in out, out
    assert f"digests.yaml:{robot_line}:" in out and "unknown robot 'factory-grp'" in out, out


def test_given_a_path_past_the_file_then_locate_stops_at_the_deepest_node(tmp_path) -> None:
    from wecom_oa.cli.config_check import locate

    path = tmp_path / "x.yaml"
    path.write_text("a:\n  b:\n    - 1\n    - {c: 2}\n", encoding="utf-8")

    assert locate(path, "a.b.1.c") == (4, "a.b.1.c")
    assert locate(path, "a.0.1") == (4, "a.b.1")
    assert locate(path, "a.zz.q") == (2, "a.zz.q")  # the value of a, where zz would be


def test_given_a_new_summary_time_in_digests_yaml_then_check_says_to_run_make_schedules(config, capsys) -> None:
    _edit(config / "digests.yaml", "cron(0 18 ? * * *)", "cron(30 17 ? * * *)")

    code, out = _check(config, capsys)

    assert code == 1
    assert "schedule 'daily-summary' is cron(30 17 ? * * *) Asia/Shanghai, but template.yaml:" in out, out
    assert "run `make schedules`" in out


def test_given_make_schedules_then_the_template_fires_what_digests_yaml_says(config, tmp_path) -> None:
    from wecom_oa.cli.schedules import TEMPLATE, differences, fired, main

    template = tmp_path / "template.yaml"
    shutil.copy(TEMPLATE, template)
    _edit(config / "digests.yaml", "cron(0 18 ? * * *)", "cron(30 17 ? * * *)")
    before = fired(template.read_text(encoding="utf-8"))

    assert main(["--template", str(template), "--config", str(config / "digests.yaml")]) == 0

    after = fired(template.read_text(encoding="utf-8"))
    assert after["daily-summary"].expression == "cron(30 17 ? * * *)"
    assert {k: v for k, v in after.items() if k != "daily-summary"} == \
        {k: v for k, v in before.items() if k != "daily-summary"}
    assert differences(template, config / "digests.yaml") == []
    shipped = yaml.safe_load((config / "digests.yaml").read_text(encoding="utf-8"))["schedules"]
    assert set(before) == {s["name"] for s in shipped}, "every schedule of the shipped digests.yaml is fired by the template"
