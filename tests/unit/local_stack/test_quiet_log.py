"""`make run` logs what people and other systems do, not moto's polling or the sandbox calls that
carry the access token (LOCAL_VERBOSE=1 keeps them); no "no metrics" warning per invocation."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from local.server import _QuietMoto


def _record(line: str) -> logging.LogRecord:
    return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%s", (line,), None)


@pytest.mark.parametrize(("line", "kept"), [
    ('127.0.0.1 - - [03/Dec/2026 14:30:12] "POST / HTTP/1.1" 200 -', False),
    ('127.0.0.1 - - [x] "GET /?Action=ReceiveMessage&QueueUrl=q HTTP/1.1" 200 -', False),
    ('127.0.0.1 - - [x] "POST /2015-03-31/functions/arn:aws:lambda:f/invocations HTTP/1.1" 200 -', False),
    ('127.0.0.1 - - [x] "GET /_sandbox/cgi-bin/user/get?userid=a&access_token=SECRET HTTP/1.1" 200 -', False),
    ('127.0.0.1 - - [x] "\x1b[35m\x1b[1mPOST /tickets HTTP/1.1\x1b[0m" 201 -', True),
    ('127.0.0.1 - - [x] "POST /_sandbox/click HTTP/1.1" 200 -', True),
    ('127.0.0.1 - - [x] "GET /health HTTP/1.1" 200 -', True),
])
def test_given_a_request_line_then_only_peoples_and_systems_requests_are_kept(line, kept) -> None:
    assert _QuietMoto().filter(_record(line)) is kept


def test_given_an_invocation_without_metrics_then_no_warning_is_printed() -> None:
    root = Path(__file__).resolve().parents[3]
    code = "from wecom_oa.observability import metrics; metrics.flush_metrics(); print('flushed')"
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(root / "layers" / "common"), "PATH": "/usr/bin:/bin"})
    assert done.stdout.strip() == "flushed"
    assert "No application metrics" not in done.stderr, done.stderr
