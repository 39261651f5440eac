"""The sandbox directory YAML loader and the demo company the shipped rules rely on."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from local.sandbox.directory import DEMO_DIRECTORY, company_from_mapping, load_sandbox_directory
from wecom_oa.directory import department_head, leader
from wecom_oa.errors import ConfigurationError


@pytest.fixture(scope="module")
def demo():
    return load_sandbox_directory()


def test_given_no_path_when_loading_then_demo_company_with_15_to_25_lowercase_users(demo):
    users = demo.directory.users()

    assert 15 <= len(users) <= 25
    assert all(u.userid.isascii() and u.userid == u.userid.lower() for u in users)
    assert load_sandbox_directory(DEMO_DIRECTORY).extras.corp_name == demo.extras.corp_name


def test_given_demo_when_walking_leaders_then_engineer_supervisor_director_gm(demo):
    d = demo.directory
    gm = d.tag_members("总经理")

    for engineer in ("zhangsan", "wangwu"):
        chain = [leader(d, engineer, level) for level in (1, 2, 3, 4)]
        assert chain[2:] == [gm[0], None]
        assert d.user(chain[1]).position.endswith("大区总监")
        assert department_head(d, engineer) == chain[0]


def test_given_demo_when_reading_departments_then_required_structure_exists(demo):
    names = {dep.name: dep for dep in demo.directory.departments()}

    for name in ("总经办", "财务部", "技术支持部", "华东大区", "华南大区", "销售部", "生产部", "工厂"):
        assert name in names
    assert names["华东大区"].parentid == names["技术支持部"].id
    assert names["工厂"].parentid == names["生产部"].id
    assert names["财务部"].leaders


def test_given_demo_when_reading_tags_then_roles_have_members(demo):
    d = demo.directory

    for tag in ("财务", "总经理", "技术支持", "客服", "客服主管"):
        assert d.tag_members(tag), tag
    assert len(d.tag_members("总经理")) == 1


def test_given_demo_when_reading_balances_then_someone_has_zero_annual_but_other_leave(demo):
    zero_annual = [
        u.userid for u in demo.directory.users()
        if u.status == 1 and dict((vt.key, b.left) for vt, b in demo.extras.balances(u.userid))["annual"] == 0
    ]

    assert zero_annual
    others = {vt.name: b.left for vt, b in demo.extras.balances(zero_annual[0])}
    assert {"年假", "事假", "调休", "病假"} <= set(others)
    assert others["事假"] > 0 and others["调休"] > 0


def test_given_demo_when_reading_robots_then_project_and_factory_groups(demo):
    names = {r.name for r in demo.extras.robots}

    assert {"project-group", "factory-group"} <= names
    assert all(demo.extras.robot_by_key(r.key) == r for r in demo.extras.robots)


def _demo_data() -> dict:
    return yaml.safe_load(DEMO_DIRECTORY.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["users"].append(dict(d["users"][0])), "duplicate users.userid"),
        (lambda d: d["users"][1].update(direct_leader=["nobody"]), "unknown user 'nobody'"),
        (lambda d: d["users"][1].update(departments=[99]), "unknown department 99"),
        (lambda d: d["users"][1].update(main_department=9), "main_department 9"),
        (lambda d: d["users"][1].update(userid="LiuYang"), "must be lower-case"),
        (lambda d: d["users"][1].update(vacation={"sabbatical": 3}), "unknown vacation type 'sabbatical'"),
        (lambda d: d["departments"][1].update(parentid=77), "parentid 77"),
        (lambda d: d["departments"][1].update(leaders=["ghost"]), "unknown user 'ghost'"),
        (lambda d: d["tags"][0].update(userids=["ghost"]), "unknown user 'ghost'"),
        (lambda d: d["tags"][2].update(partyids=[404]), "unknown department 404"),
        (lambda d: d["robots"].append(dict(d["robots"][0])), "duplicate robots.key"),
        (lambda d: d["users"][0].update(vacation={"annual": -1}), "users.0.vacation.annual"),
        (lambda d: d.update(colour="blue"), "colour"),
        (lambda d: d.pop("users"), "users"),
    ],
)
def test_given_broken_directory_when_loading_then_configuration_error_names_the_field(mutate, expected):
    data = _demo_data()
    mutate(data)

    with pytest.raises(ConfigurationError) as err:
        company_from_mapping(data, "company.yaml")

    assert "company.yaml" in err.value.message
    assert expected in err.value.message


def test_given_missing_or_malformed_file_when_loading_then_configuration_error(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("users: [\n", encoding="utf-8")

    with pytest.raises(ConfigurationError, match="not valid YAML"):
        load_sandbox_directory(bad)
    with pytest.raises(ConfigurationError, match="cannot read"):
        load_sandbox_directory(tmp_path / "absent.yaml")


def test_given_balance_shorthand_and_full_form_when_loading_then_left_days(company):
    balances = {vt.key: b for vt, b in company.extras.balances("dev1")}

    assert (balances["annual"].assigned, balances["annual"].left) == (5, 0)
    assert balances["comp_time"].left == 1.5


def test_given_loaded_company_when_using_directory_port_then_plain_users_without_extras(company):
    user = company.directory.user("boss")

    assert type(user).__name__ == "User"
    assert company.extras.profiles["boss"].mobile == "13900000001"
