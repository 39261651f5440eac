"""Project groups: `departments` validation in digests.yaml and `group_of` (which group's daily
summary lists an approval, by the applicant's main department and its ancestors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from wecom_oa.digests.schedules import (
    DEFAULT_CONFIG_PATH,
    MAX_DEPARTMENT_DEPTH,
    ProjectGroup,
    group_of,
    load_digest_config,
)
from wecom_oa.directory import StaticDirectory
from wecom_oa.errors import ConfigurationError

DEMO_DIRECTORY = Path(__file__).resolve().parents[3] / "local" / "sandbox" / "demo_directory.yaml"
# 1 root ── 4 tech ── 5 east ── 6 east-1 ; 1 ── 3 finance ; 1 ── 2 office
PARENTS: dict[int, int | None] = {1: None, 2: 1, 3: 1, 4: 1, 5: 4, 6: 5}


def group(group_id: str, departments: list[int]) -> ProjectGroup:
    return ProjectGroup(id=group_id, name=group_id, target={"kind": "robot", "ref": "r"}, departments=departments)


def parent_of(dept: int) -> int | None:
    return PARENTS.get(dept)


# ---- group_of ------------------------------------------------------------------------------------


def test_given_a_sub_department_when_its_ancestor_is_listed_then_that_group() -> None:
    groups = [group("finance", [3]), group("tech", [4])]

    assert group_of(6, groups, parent_of) == "tech"


def test_given_the_listed_department_itself_then_that_group() -> None:
    assert group_of(3, [group("tech", [4]), group("finance", [3])], parent_of) == "finance"


def test_given_no_group_lists_the_department_or_an_ancestor_then_none() -> None:
    assert group_of(2, [group("tech", [4]), group("finance", [3])], parent_of) is None


def test_given_no_department_then_none_without_asking_the_directory() -> None:
    def fail(dept: int) -> int | None:
        raise AssertionError("directory asked")

    assert group_of(None, [group("all", [1])], fail) is None


def test_given_two_groups_match_then_the_first_in_config_order_wins() -> None:
    # "east" lists the department itself, but "tech" comes first and lists an ancestor.
    groups = [group("tech", [4]), group("east", [6])]

    assert group_of(6, groups, parent_of) == "tech"
    assert group_of(6, list(reversed(groups)), parent_of) == "east"


def test_given_a_cyclic_parent_chain_then_it_terminates() -> None:
    calls: list[int] = []

    def cyclic(dept: int) -> int | None:
        calls.append(dept)
        return {7: 8, 8: 7}.get(dept)

    assert group_of(7, [group("tech", [4])], cyclic) is None
    assert len(calls) <= MAX_DEPARTMENT_DEPTH


# ---- config --------------------------------------------------------------------------------------


def _write(tmp_path: Path, groups: list[dict[str, object]]) -> Path:
    path = tmp_path / "digests.yaml"
    path.write_text(yaml.safe_dump({"schedules": [], "groups": groups}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.mark.parametrize(("departments", "problem"), [
    (["4"], r"group 'desk' field departments\.0"),  # a string, not an id
    ([True], r"group 'desk' field departments\.0"),
    ([0], r"group 'desk' field departments\.0.*greater than or equal to 1"),
    ("4", r"group 'desk' field departments"),
    ([4, 4], r"group 'desk' field departments: duplicate department ids: 4"),
])
def test_given_a_bad_department_id_when_loaded_then_error_names_group_and_field(
        tmp_path: Path, departments: object, problem: str) -> None:
    path = _write(tmp_path, [{"id": "desk", "name": "服务台", "target": {"kind": "robot", "ref": "r"},
                              "departments": departments}])

    with pytest.raises(ConfigurationError, match=problem):
        load_digest_config(path)


def test_given_an_unknown_group_field_when_loaded_then_error_names_group_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"id": "desk", "name": "服务台", "target": {"kind": "robot", "ref": "r"},
                              "department": [4]}])

    with pytest.raises(ConfigurationError, match=r"digests\.yaml: group 'desk' field department: Extra inputs"):
        load_digest_config(path)


def test_given_the_shipped_config_then_demo_departments_map_to_the_intended_groups() -> None:
    groups = load_digest_config(DEFAULT_CONFIG_PATH).groups
    directory = StaticDirectory.from_yaml(DEMO_DIRECTORY)

    def of(userid: str) -> str | None:
        return group_of(directory.user(userid).department, groups, lambda d: directory.department(d).parentid)

    assert {u: of(u) for u in ("zhangsan", "wufang", "xuming", "zhaomin", "chenjing", "liuyang")} == {
        "zhangsan": "service-desk", "wufang": "service-desk", "xuming": "service-desk",
        "zhaomin": "customer-care", "chenjing": "customer-care", "liuyang": None}
    known = {d.id for d in directory.departments()}
    assert all(set(g.departments) <= known for g in groups)
