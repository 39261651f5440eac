"""Workflow templates are checked before anything runs: a cycle (named by its path), a task that
waits for a missing one, an unknown role, a role with no single way to resolve; `make check` names
the file, line and key; the shipped templates load, and the critical path follows the due dates."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from wecom_oa.cli.config_check import load_problems
from wecom_oa.errors import ConfigurationError
from wecom_oa.workflows.templates import critical_path, find_cycle, parse_duration, parse_template, shipped

BASE = {"key": "demo", "name": "示例", "group": "service-desk", "owner_role": "hr",
        "roles": {"hr": {"users": ["liuyang"], "label": "人事"}, "it": {"users": ["lisi"], "label": "IT"}},
        "tasks": [{"key": "a", "title": "A", "role": "hr", "due": "2h"},
                  {"key": "b", "title": "B", "role": "it", "due": "4h", "after": ["a"]},
                  {"key": "c", "title": "C", "role": "it", "due": "1d", "after": ["a", "b"]}]}


def _with(change) -> dict:
    data = copy.deepcopy(BASE)
    change(data)
    return data


@pytest.mark.parametrize(("change", "named"), [
    (lambda d: d["tasks"][0].update(after=["c"]), "cycle: a → c → a"),
    (lambda d: d["tasks"][1].update(after=["z"]), "task b: waits for missing task(s) z"),
    (lambda d: d["tasks"][1].update(role="legal"), "task b: unknown role 'legal'"),
    (lambda d: d["roles"]["it"].update(assignment="it"), "exactly one way"),
    (lambda d: d["roles"].update(boss={"leader_of": "new_hire", "label": "上级"}), "role boss: 'new_hire' is not a user field"),
    (lambda d: d["tasks"][2].update(key="a"), "task keys appear twice: a"),
    (lambda d: d["tasks"][0].update(due="soon"), "'soon' is not a duration"),
    (lambda d: d.update(owner_role="ceo"), "owner_role: unknown role 'ceo'"),
    (lambda d: d.update(start_on={"approval": "onboarding", "subject": {"nope": "f"}}),
     "start_on.subject: nope are not subject fields"),
])
def test_given_a_broken_template_then_the_error_names_the_problem(change, named) -> None:
    with pytest.raises(ConfigurationError) as caught:
        parse_template(_with(change), "demo.yaml")

    assert named in caught.value.message and caught.value.message.startswith("demo.yaml: ")


def test_given_a_long_chain_then_the_cycle_search_is_iterative_and_finds_the_back_edge() -> None:
    chain = {f"t{i}": [f"t{i + 1}"] for i in range(5000)} | {"t5000": ["t17"]}

    cycle = find_cycle(chain)

    assert cycle is not None and cycle[0] == cycle[-1] == "t17" and len(cycle) == 4985
    assert find_cycle({f"t{i}": [f"t{i + 1}"] for i in range(5000)}) is None


def test_given_the_shipped_templates_then_they_load_and_the_critical_path_follows_the_latest_due() -> None:
    templates = shipped()

    assert set(templates) == {"onboarding", "product_iteration"}
    assert len(templates["onboarding"].tasks) == 12
    assert critical_path(parse_template(BASE, "demo.yaml")) == ["a", "b", "c"]
    assert critical_path(templates["product_iteration"])[-1] == "release"
    assert parse_duration("1d4h30m") == timedelta(hours=12, minutes=30)


def test_given_a_config_dir_with_a_broken_workflow_then_make_check_names_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "demo.yaml").write_text(
        yaml.safe_dump(_with(lambda d: d["tasks"][1].update(title="")), allow_unicode=True, sort_keys=False),
        encoding="utf-8")

    problems = load_problems(tmp_path)

    assert len(problems) == 1 and problems[0].startswith("demo.yaml:") and "tasks.1.title" in problems[0], problems
