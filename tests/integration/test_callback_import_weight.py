"""The callback handler's import stays light (design budget ≤ 1.5 × `import boto3`, measured in
bench/bench_cold_start.py): structurally, no pydantic model is built and no X-Ray SDK loaded at import."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_callback_handler_loads_neither_pydantic_nor_xray() -> None:
    code = ("import json, sys; import functions.wecom_callback.app; "
            "print(json.dumps([m for m in ('pydantic', 'aws_xray_sdk', 'httpx') if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": f"{ROOT / 'layers' / 'common'}:{ROOT}", "PATH": "/usr/bin:/bin"})
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
