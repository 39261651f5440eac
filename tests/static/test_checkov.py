"""checkov on the SAM-transformed template: every finding is fixed or suppressed in template.yaml
(`Metadata: checkov: skip: [{id, comment}]` on the resource) with its reason, and no suppression is stale.

checkov pins boto3/botocore 1.35 while moto needs 1.44, so it has a venv of its own inside the project
venv (`$(VENV)/checkov`, created by `make test` through the Makefile's checkov-venv target). A
suppression on a SAM resource applies to the resource SAM emits under the same logical id.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.static.test_template_and_asl import TEMPLATE, _transform

pytestmark = pytest.mark.slow

CHECKOV = Path(os.environ.get("CHECKOV") or Path(sys.prefix) / "checkov" / "bin" / "checkov")


def _declared_skips(template: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(logical id, check id) → reason, for every suppression written in the template. (SAM copies a
    function's Metadata onto some resources it generates, e.g. its EventInvokeConfig, too.)"""
    out = {}
    for logical_id, res in template["Resources"].items():
        for skip in ((res.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
            out[(logical_id, skip["id"])] = skip.get("comment", "")
    return out


@pytest.fixture(scope="module")
def transformed() -> dict[str, Any]:
    return _transform()


@pytest.fixture(scope="module")
def report(transformed: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not CHECKOV.is_file():
        pytest.fail(f"{CHECKOV} is missing: `make checkov-venv` (or `make test`) installs the pinned checkov")
    path = tmp_path_factory.mktemp("checkov") / "template.json"
    path.write_text(json.dumps(transformed), encoding="utf-8")
    result = subprocess.run([str(CHECKOV), "-f", str(path), "--framework", "cloudformation", "--output", "json",
                             "--skip-download"], capture_output=True, text=True, timeout=300)
    assert result.returncode in (0, 1), result.stdout[-2000:] + result.stderr[-2000:]
    out = json.loads(result.stdout)
    assert out["summary"]["parsing_errors"] == 0, out["summary"]
    assert out["summary"]["resource_count"] >= len(transformed["Resources"]) // 2, "checkov saw too few resources"
    return out["results"]


def _where(check: dict[str, Any]) -> tuple[str, str]:
    return check["resource"].rsplit(".", 1)[-1], check["check_id"]


def test_given_the_transformed_template_then_checkov_has_no_unsuppressed_finding(report: dict[str, Any]) -> None:
    failed = sorted(f"{c['check_id']} {c['resource']}: {c['check_name']}" for c in report["failed_checks"])
    assert failed == [], "fix, or suppress in template.yaml with a reason:\n" + "\n".join(failed)


def test_given_a_suppression_then_it_has_a_reason_and_silences_a_real_finding(report: dict[str, Any]) -> None:
    declared = _declared_skips(TEMPLATE)
    used = {_where(c) for c in report["skipped_checks"]}

    assert declared, "no suppression found: has SAM stopped passing resource Metadata through?"
    assert [k for k, reason in declared.items() if len(reason.strip()) < 20] == [], "each suppression names its reason"
    assert sorted(set(declared) - used) == [], "stale suppressions (the finding is gone): remove them"
