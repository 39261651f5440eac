"""Static checks that run in `make test`: the template lints, transforms offline, names IAM
resources; every ASL file lints, its placeholders match DefinitionSubstitutions, every Task retries
and catches, every task-token wait is bounded, every Choice has a Default."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template

ROOT = Path(__file__).resolve().parents[2]
ASL_FILES = sorted((ROOT / "statemachines").glob("*.asl.json"))
TEMPLATE = load_template(ROOT / "template.yaml")


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _state_machines() -> dict[str, dict[str, Any]]:
    return {k: v["Properties"] for k, v in TEMPLATE["Resources"].items()
            if v["Type"] == "AWS::Serverless::StateMachine"}


def _walk_states(states: dict[str, Any]):
    for name, state in states.items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _walk_states(branch["States"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _walk_states(processor["States"])


def test_cfn_lint_is_clean() -> None:
    result = subprocess.run([_bin("cfn-lint"), str(ROOT / "template.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("asl", ASL_FILES, ids=lambda p: p.name)
def test_statelint_accepts_each_state_machine(asl: Path) -> None:
    result = subprocess.run([_bin("statelint"), "--ignore=URI,FLOAT", str(asl)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_asl_file_is_used_by_the_template() -> None:
    used = {p["DefinitionUri"] for p in _state_machines().values()}
    assert used == {f"statemachines/{p.name}" for p in ASL_FILES}


@pytest.mark.parametrize("logical_id", sorted(_state_machines()))
def test_placeholders_match_definition_substitutions(logical_id: str) -> None:
    props = _state_machines()[logical_id]
    text = (ROOT / props["DefinitionUri"]).read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$\{(\w+)\}", text))
    keys = set(props.get("DefinitionSubstitutions", {}))
    assert placeholders - keys == set(), f"placeholders without a substitution: {placeholders - keys}"
    assert keys - placeholders == set(), f"substitutions never used: {keys - placeholders}"


@pytest.mark.parametrize("asl", ASL_FILES, ids=lambda p: p.name)
def test_tasks_retry_catch_and_waits_are_bounded(asl: Path) -> None:
    definition = json.loads(asl.read_text(encoding="utf-8"))
    assert "arn:aws:" not in asl.read_text(encoding="utf-8"), "use arn:${Partition}: so aws-cn works"
    for name, state in _walk_states(definition["States"]):
        if state["Type"] == "Task":
            assert state.get("Retry"), f"{asl.name}:{name} has no Retry"
            assert state.get("Catch"), f"{asl.name}:{name} has no Catch"
            if state["Resource"].endswith(".waitForTaskToken"):
                assert "TimeoutSeconds" in state or "TimeoutSecondsPath" in state, f"{name} waits unbounded"
        if state["Type"] == "Choice":
            assert "Default" in state, f"{asl.name}:{name} Choice without Default"
        assert "Resource" not in state or "${" in state["Resource"], f"{name}: physical name in ASL"


def _transform() -> dict[str, Any]:
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.translator.transform import transform

    template = json.loads(json.dumps(TEMPLATE))
    for res in template["Resources"].values():
        props = res.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://bucket/{props[key].strip('/')}.zip"
        if "DefinitionUri" in props:
            props["Definition"] = json.loads((ROOT / props.pop("DefinitionUri")).read_text(encoding="utf-8"))

    class PolicyLoader:
        def load(self) -> dict[str, str]:
            return {}

    try:
        return transform(template, {"WeComCorpId": "ww0123456789abcdef", "WeComAgentId": "1000002"}, PolicyLoader())
    except InvalidDocumentException as exc:  # pragma: no cover - shows the reasons
        raise AssertionError([str(e) for e in exc.causes]) from exc


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return _transform()


def test_template_transforms_offline(transformed: dict[str, Any]) -> None:
    kinds = {r["Type"] for r in transformed["Resources"].values()}
    assert {"AWS::Lambda::Function", "AWS::StepFunctions::StateMachine", "AWS::Scheduler::Schedule",
            "AWS::ApiGatewayV2::Api", "AWS::Lambda::EventSourceMapping"} <= kinds
    schedules = [r["Properties"] for r in transformed["Resources"].values() if r["Type"] == "AWS::Scheduler::Schedule"]
    assert schedules and all(s["ScheduleExpressionTimezone"] == "Asia/Shanghai" for s in schedules)


def test_iam_policies_name_their_resources(transformed: dict[str, Any]) -> None:
    offenders = []
    for logical_id, res in transformed["Resources"].items():
        if res["Type"] != "AWS::IAM::Role":
            continue
        for policy in res["Properties"].get("Policies", []):
            for stmt in policy["PolicyDocument"]["Statement"]:
                resources = stmt.get("Resource")
                resources = resources if isinstance(resources, list) else [resources]
                if any(r == "*" for r in resources):
                    offenders.append((logical_id, stmt.get("Action")))
    assert offenders == []


def test_no_literal_partition_in_template() -> None:
    assert "arn:aws:" not in (ROOT / "template.yaml").read_text(encoding="utf-8")


def test_ruff_is_clean() -> None:
    result = subprocess.run([_bin("ruff"), "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_template_schedules_match_the_digest_config() -> None:
    """config/digests.yaml is the source of truth; the template deploys exactly those schedules."""
    from wecom_oa.digests.schedules import load_digest_config

    config = {s.name: s for s in load_digest_config().schedules}
    events = TEMPLATE["Resources"]["DigestFunction"]["Properties"]["Events"]
    deployed = {json.loads(e["Properties"]["Input"])["schedule"]: e["Properties"]
                for e in events.values() if e["Type"] == "ScheduleV2"}
    assert set(deployed) == set(config)
    for name, props in deployed.items():
        assert props["ScheduleExpression"] == config[name].expression, name
        assert props["ScheduleExpressionTimezone"] == config[name].timezone, name
    assert any("daily" in name for name in deployed)
