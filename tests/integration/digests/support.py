"""Shared by tests/integration/{digests,notices}: a manual clock, the test digest config, sandbox robot
keys, and placeholders for handler / service modules other parts of the project have not shipped yet
(the template names them; `local_stack` imports every handler). A placeholder is installed only when
the real module cannot be found, and only for the test's duration."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "digests"
ROBOT_KEY = "5a1d0c00-0000-4000-8000-00000000b0a1"  # the demo sandbox's project-group robot
def use_test_config(robot_key: str = ROBOT_KEY) -> None:
    from wecom_oa.digests import service as digests
    from wecom_oa.digests.schedules import load_digest_config

    digests.reset()
    digests.configure(config=load_digest_config(FIXTURES / "digests.yaml"),
                      robot_keys={"robot/project-group": robot_key})


def shanghai(text: str) -> datetime:
    """An aware datetime from 'YYYY-MM-DD HH:MM' Asia/Shanghai wall time."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai"))


def manual_clock_at(text: str):
    """Generator body of the digests/notices `clock` fixtures: a ManualClock at `text` (Shanghai)
    installed before the stack and the sandbox are built (they read it then), with the test config."""
    from wecom_oa.clock import ManualClock, set_clock
    from wecom_oa.digests import service as digests

    manual = ManualClock(shanghai(text))
    set_clock(manual)
    use_test_config()
    yield manual
    digests.reset()
    set_clock(None)


def start_report_tracking(app, clock, when: str = "2025-09-01 09:30") -> None:
    """The deployment's first missing-reports run (tracking starts for everyone that day; nobody
    is behind yet), so later runs can find streaks."""
    clock.set(shanghai(when))
    result = app.stack.fire("missing-reports-daily")
    assert result["status"] == "done", result
    assert not [m for m in app.messages() if "未提交日报" in (m.get("content") or "")], "day one reminds nobody"
