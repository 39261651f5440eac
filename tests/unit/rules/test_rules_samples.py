from __future__ import annotations

import pytest

from wecom_oa.approvals.rules_lint import RuleRegistry, Sample, load_samples, run_sample
from wecom_oa.settings import PACKAGE_DIR

SAMPLES = load_samples(PACKAGE_DIR / "config" / "approval_rules" / "samples.yaml")


@pytest.fixture(scope="module")
def registry(rules_dir, directory):
    return RuleRegistry(rules_dir, directory=directory)


@pytest.mark.parametrize("sample", SAMPLES, ids=[s.name for s in SAMPLES])
def test_given_a_shipped_sample_when_run_then_it_gets_its_expected_outcome(sample, registry, directory, templates):
    result = run_sample(sample, registry, directory, templates)
    assert result.ok, result.problems


def test_given_a_sample_with_a_wrong_expectation_when_run_then_it_fails_naming_the_difference(
    registry, directory, templates
):
    wrong = Sample.model_validate({
        "name": "wrong", "type": "expense", "applicant": "zhangsan", "form": {"amount": 800, "reason": "x"},
        "expect": {"outcome": "auto_approve", "route": [{"approvers": ["wufang"]}], "error": None},
    })
    result = run_sample(wrong, registry, directory, templates)
    assert not result.ok
    assert result.problems == ["outcome: expected auto_approve, got route",
                               "stage 1 approvers: expected ['wufang'], got ['lina']"]
