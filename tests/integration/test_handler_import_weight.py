"""Every handler's import stays within the cold-start budget (≤ 1.5 × `import boto3`, measured in
bench/bench_cold_start.py) structurally: what only some events need (templates, YAML, calendars,
the WeCom HTTP client, X-Ray) loads with those events, and the state-machine task and schedule
handlers import no pydantic at import (it alone is about 0.4 × boto3 on top of it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HANDLERS = sorted(p.parent.name for p in (ROOT / "functions").glob("*/app.py"))
ON_SOME_PATHS = ("aws_xray_sdk", "httpx", "yaml", "jinja2", "chinese_calendar")
WITHOUT_PYDANTIC = ("alert_timer", "approval_branch", "digest", "notifier", "ticket_escalation", "wecom_callback")


def _loaded_at_import(handler: str, watched: tuple[str, ...]) -> list[str]:
    code = (f"import json, sys; import functions.{handler}.app; "
            f"print(json.dumps([m for m in {watched!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": f"{ROOT / 'layers' / 'common'}:{ROOT}", "PATH": "/usr/bin:/bin"})
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("handler", HANDLERS)
def test_importing_a_handler_loads_nothing_only_some_events_need(handler: str) -> None:
    assert _loaded_at_import(handler, ON_SOME_PATHS) == []


@pytest.mark.parametrize("handler", WITHOUT_PYDANTIC)
def test_importing_a_task_or_schedule_handler_loads_no_pydantic(handler: str) -> None:
    assert handler in HANDLERS
    assert _loaded_at_import(handler, ("pydantic",)) == []
