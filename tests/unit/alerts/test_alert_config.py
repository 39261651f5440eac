"""config/alerts.yaml: a mistake is refused by name (file, key path) before the server starts, and
`make check` names the people, tags, robots and project groups it mentions that do not exist."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from wecom_oa.alerts.config import AlertConfig, load_alert_config
from wecom_oa.cli.rules_check import main
from wecom_oa.errors import ConfigurationError
from wecom_oa.settings import PACKAGE_DIR

CONFIG = PACKAGE_DIR / "config"
DEMO = PACKAGE_DIR.parents[2] / "local" / "sandbox" / "demo_directory.yaml"


def _shipped() -> dict:
    return yaml.safe_load((CONFIG / "alerts.yaml").read_text(encoding="utf-8"))


def _load(tmp_path: Path, data: dict) -> AlertConfig:
    path = tmp_path / "alerts.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_alert_config(path)


def test_given_the_shipped_file_then_it_loads_with_a_route_for_each_sample_type(tmp_path) -> None:
    config = _load(tmp_path, _shipped())
    for alert_type, route in (("库存不足", "inventory_low"), ("订单超时", "order_timeout"), ("设备故障", "equipment_failure")):
        assert config.route_for(type=alert_type, source="X", severity="warning", labels={}).name == route


def test_given_a_route_naming_an_unknown_receiver_then_the_route_and_receiver_are_named(tmp_path) -> None:
    data = _shipped()
    data["routes"][0]["receivers"] = ["区域经理", "不存在的人"]
    with pytest.raises(ConfigurationError) as err:
        _load(tmp_path, data)
    assert "routes.0.receivers: unknown receiver '不存在的人'" in err.value.message


def test_given_an_escalation_naming_an_unknown_receiver_then_its_level_is_named(tmp_path) -> None:
    data = _shipped()
    data["routes"][2]["escalation"][1]["receivers"] = ["董事会"]
    with pytest.raises(ConfigurationError) as err:
        _load(tmp_path, data)
    assert "routes.2.escalation.1.receivers: unknown receiver '董事会'" in err.value.message


def test_given_a_leader_receiver_on_a_route_not_grouped_by_its_label_then_refused(tmp_path) -> None:
    data = _shipped()
    data["routes"][0]["group_by"] = ["warehouse"]
    with pytest.raises(ConfigurationError) as err:
        _load(tmp_path, data)
    assert "routes.0.group_by" in err.value.message and "labels.store" in err.value.message


@pytest.mark.parametrize("receiver, problem", [
    ({"robot": "a", "users": ["b"]}, "exactly one of"),
    ({}, "exactly one of"),
    ({"leader_of": {"label": "store", "up": 9}}, "less than or equal to 5"),
    ({"users": []}, "at least 1 item"),
])
def test_given_a_malformed_receiver_then_its_name_and_problem_are_given(tmp_path, receiver, problem) -> None:
    data = _shipped()
    data["receivers"]["区域经理"] = receiver
    with pytest.raises(ConfigurationError) as err:
        _load(tmp_path, data)
    assert "receivers.区域经理" in err.value.message and problem in err.value.message


def test_given_escalation_levels_out_of_order_then_refused(tmp_path) -> None:
    data = _shipped()
    data["routes"][2]["escalation"] = [{"after_minutes": 45, "receivers": ["总经理"]},
                                       {"after_minutes": 15, "receivers": ["生产总监"]}]
    with pytest.raises(ConfigurationError, match="increasing after_minutes"):
        _load(tmp_path, data)


def test_given_a_severity_floor_then_that_severity_and_higher_match(tmp_path) -> None:
    data = _shipped()
    data["routes"].insert(0, {"name": "critical_only", "match": {"severity": "warning", "source": "MES"},
                              "receivers": ["厂长"]})
    config = _load(tmp_path, data)
    assert config.route_for(type="设备故障", source="MES", severity="critical", labels={}).name == "critical_only"
    assert config.route_for(type="设备故障", source="MES", severity="warning", labels={}).name == "critical_only"
    assert config.route_for(type="设备故障", source="MES", severity="info", labels={}).name == "equipment_failure"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "config"
    shutil.copytree(CONFIG, copy)
    return copy


def _edit(path: Path, old: str, new: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:text.index(old)].count("\n") + 1


@pytest.mark.parametrize("old, new, named", [
    ("users: [chenjing]", "users: [chenjin]", "unknown userid 'chenjin'"),
    ("tag: 总经理", "tag: 总经理们", "unknown tag '总经理们'"),
    ("robot: factory-group", "robot: factory-grp", "unknown robot 'factory-grp'"),
    ("digest_groups: [service-desk]", "digest_groups: [service-dsk]", "unknown project group 'service-dsk'"),
])
def test_given_a_name_the_directory_lacks_then_make_check_names_its_line(config_dir, capsys, old, new, named) -> None:
    line = _edit(config_dir / "alerts.yaml", old, new)
    code = main(["--dir", str(config_dir / "approval_rules"), "--directory", str(DEMO)])
    out = capsys.readouterr().out
    assert code == 1
    assert f"alerts.yaml:{line}:" in out and named in out, out


def test_given_a_broken_file_then_make_check_names_the_key_and_line(config_dir, capsys) -> None:
    line = _edit(config_dir / "alerts.yaml", "group_wait_seconds: 60\n", "group_wait_seconds: soon\n")
    code = main(["--dir", str(config_dir / "approval_rules"), "--directory", str(DEMO)])
    out = capsys.readouterr().out
    assert code == 1 and f"alerts.yaml:{line}: routes.0.group_wait_seconds" in out, out
