"""Logger and Metrics shared by every function (powertools; service name from POWERTOOLS_SERVICE_NAME).

Tracer is deliberately absent: importing it costs ~120 ms even when disabled, which the callback
path cannot afford. Functions that want X-Ray import it themselves.

`SecretRedactor` masks configured secret values in every log record, a second line of defence
behind the rule that secrets are never passed to the logger at all.
"""

from __future__ import annotations

import logging
import threading
import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="wecom-oa", utc=True)
metrics = Metrics(namespace="WeComOA", service="wecom-oa")
# An invocation that had nothing to count is normal here (a duplicate callback, a quiet schedule):
# powertools' "No application metrics to publish" warning would otherwise fill every log stream.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)


class SecretRedactor(logging.Filter):
    """Replaces any registered secret value appearing in a log record with `***`."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def register(self, *values: str | None) -> None:
        with self._lock:
            self._secrets.update(v for v in values if v and len(v) >= 6)

    def scrub(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets:
            if isinstance(record.msg, str):
                record.msg = self.scrub(record.msg)
            if record.args:
                args = record.args if isinstance(record.args, tuple) else (record.args,)
                record.args = tuple(self.scrub(a) if isinstance(a, str) else a for a in args)
            for key, value in list(record.__dict__.items()):
                if isinstance(value, str) and key not in ("msg", "name", "levelname", "pathname"):
                    record.__dict__[key] = self.scrub(value)
        return True


redactor = SecretRedactor()
logger.addFilter(redactor)
