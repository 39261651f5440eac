"""Shared by tests/integration/{digests,notices}: a manual clock, the test digest config, sandbox robot
keys, and placeholders for handler / service modules other parts of the project have not shipped yet
(the template names them; `local_stack` imports every handler). A placeholder is installed only when
the real module cannot be found, and only for the test's duration."""

from __future__ import annotations

import importlib.util
import sys
import types
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "digests"
ROBOT_KEY = "5a1d0c00-0000-4000-8000-00000000b0a1"  # the demo sandbox's project-group robot
_MAYBE_MISSING = ("functions.approval_branch.app", "functions.ticket_escalation.app", "functions.notifier.app",
                  "wecom_oa.services.approvals", "wecom_oa.services.tickets")


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ModuleNotFoundError:
        return True


def install_placeholders(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _MAYBE_MISSING:
        if name in sys.modules or not _missing(name):
            continue
        module = types.ModuleType(name)

        def not_shipped(*args: object, **kwargs: object) -> None:
            raise NotImplementedError("placeholder for a module not shipped yet")

        module.lambda_handler = not_shipped  # type: ignore[attr-defined]
        module.reconcile = not_shipped  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, name, module)


def use_test_config(robot_key: str = ROBOT_KEY) -> None:
    from wecom_oa.domain.schedules import load_digest_config
    from wecom_oa.services import digests

    digests.reset()
    digests.configure(config=load_digest_config(FIXTURES / "digests.yaml"),
                      robot_keys={"robot/project-group": robot_key})


def shanghai(text: str) -> datetime:
    """An aware datetime from 'YYYY-MM-DD HH:MM' Asia/Shanghai wall time."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
