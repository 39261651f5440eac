"""Group-robot webhook client (`webhook/send?key=…`, PROTOCOL §3.5).

- msgtypes: text (≤2048 UTF-8 bytes), markdown (≤4096), image (base64 + md5 of the raw bytes,
  JPG/PNG ≤2 MB), news (1–8 articles), template_card (text_notice / news_notice only). Longer text
  and markdown go out as several messages split on line boundaries (never truncated); mentions ride
  on the first part only, so people are notified once.
- 20 messages/min per robot: `RobotLimiter` keeps a sliding 60 s window per key and *waits* (through
  the injected clock/sleep) instead of letting WeCom answer 45009. The window is per container;
  45009 caused by other containers is raised as `WeComFrequencyLimited` (retry after ≥ 60 s).
- 93000 (invalid key / robot removed) → `RobotWebhookInvalid` (a `ConfigurationError`).
- The key is the robot's only credential: it is never logged and never put in an exception; a
  short hash (`robot_label`) identifies the robot instead.
- Webhook sends are not idempotent: only failures WeCom did not act on (−1, 45033, connect errors)
  are retried.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from wecom_oa.clock import Clock, get_clock
from wecom_oa.errors import InvalidInput
from wecom_oa.observability import logger, redactor
from wecom_oa.wecom.client import (
    DEFAULT_API_BASE,
    RetryPolicy,
    call_once,
    check_size,
    default_http_client,
    install_log_scrubber,
    split_utf8,
)
from wecom_oa.wecom.errors import ContentTooLarge, RobotWebhookInvalid

__all__ = ["RobotClient", "RobotLimiter", "RobotWebhookInvalid", "robot_label"]

ROBOT_TEXT_LIMIT = 2048
ROBOT_MARKDOWN_LIMIT = 4096
ROBOT_IMAGE_LIMIT = 2 * 1024 * 1024
ROBOT_PER_MINUTE = 20
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")


def robot_label(key: str | SecretStr) -> str:
    """A stable, non-reversible name for a robot key, safe for logs and messages."""
    raw = key.get_secret_value() if isinstance(key, SecretStr) else key
    return "robot#" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:10]


class RobotLimiter:
    """At most `per_minute` sends per key in any `window` seconds; `acquire` waits for a slot."""

    def __init__(self, per_minute: int = ROBOT_PER_MINUTE, window: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window = timedelta(seconds=window)
        self._sent: dict[str, deque] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def acquire(self, label: str, clock: Clock, sleep: Callable[[float], None]) -> float:
        """Record one send for `label`, after waiting if needed; returns the seconds waited."""
        with self._guard:
            lock = self._locks.setdefault(label, threading.Lock())
            sent = self._sent.setdefault(label, deque())
        waited = 0.0
        with lock:
            while True:
                now = clock.now()
                while sent and now - sent[0] >= self.window:
                    sent.popleft()
                if len(sent) < self.per_minute:
                    sent.append(now)
                    return waited
                pause = (sent[0] + self.window - now).total_seconds()
                logger.info("robot rate limit: waiting", extra={"robot": label, "seconds": round(pause, 3)})
                sleep(pause)
                waited += pause


class RobotClient:
    def __init__(
        self,
        *,
        api_base: str = DEFAULT_API_BASE,
        http: httpx.Client | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], None] | None = None,
        limiter: RobotLimiter | None = None,
        max_retries: int = 2,
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self.limiter = limiter or RobotLimiter()
        self._retry = RetryPolicy(max_retries, self._pause)
        install_log_scrubber()

    @property
    def clock(self) -> Clock:
        return self._clock or get_clock()

    def _pause(self, seconds: float) -> None:
        (self._sleep or self.clock.sleep)(seconds)

    def _post(self, key: str | SecretStr, body: Mapping[str, Any]) -> None:
        raw = key.get_secret_value() if isinstance(key, SecretStr) else key
        if not raw:
            raise RobotWebhookInvalid("the group-robot webhook key is empty", api="webhook/send")
        redactor.register(raw)
        label = robot_label(raw)
        self.limiter.acquire(label, self.clock, self._pause)
        http = self._http or default_http_client()
        self._retry.run(
            lambda: call_once(http, "POST", f"{self.api_base}/webhook/send", "webhook/send",
                              params={"key": raw}, body=body),
            api="webhook/send", idempotent=False,
        )

    def send_text(self, key: str | SecretStr, content: str, *, mentioned_list: Sequence[str] = (),
                  mentioned_mobile_list: Sequence[str] = ()) -> int:
        """Text (split over 2048 bytes); mentions on the first part. Returns messages sent."""
        parts = split_utf8(content, ROBOT_TEXT_LIMIT)
        for i, part in enumerate(parts):
            text: dict[str, Any] = {"content": part}
            if i == 0 and mentioned_list:
                text["mentioned_list"] = list(mentioned_list)
            if i == 0 and mentioned_mobile_list:
                text["mentioned_mobile_list"] = list(mentioned_mobile_list)
            self._post(key, {"msgtype": "text", "text": text})
        return len(parts)

    def send_markdown(self, key: str | SecretStr, content: str) -> int:
        """Markdown (split over 4096 bytes on line boundaries). Returns messages sent."""
        parts = split_utf8(content, ROBOT_MARKDOWN_LIMIT)
        for part in parts:
            self._post(key, {"msgtype": "markdown", "markdown": {"content": part}})
        return len(parts)

    def send_image(self, key: str | SecretStr, image: bytes) -> None:
        """A JPG or PNG image of at most 2 MB (before base64)."""
        if len(image) > ROBOT_IMAGE_LIMIT:
            raise ContentTooLarge(f"image is {len(image)} bytes; robots accept {ROBOT_IMAGE_LIMIT}",
                                  api="webhook/send")
        if not image.startswith(_IMAGE_MAGIC):
            raise InvalidInput("robot images must be JPG or PNG")
        payload = {
            "base64": base64.b64encode(image).decode("ascii"),
            "md5": hashlib.md5(image, usedforsecurity=False).hexdigest(),
        }
        self._post(key, {"msgtype": "image", "image": payload})

    def send_news(self, key: str | SecretStr, articles: Sequence[Mapping[str, str]]) -> None:
        """1 to 8 articles, each with `title` and `url` (optional `description`, `picurl`)."""
        if not 1 <= len(articles) <= 8:
            raise InvalidInput("robot news needs 1 to 8 articles")
        for i, article in enumerate(articles):
            if not article.get("title") or not article.get("url"):
                raise InvalidInput(f"robot news article {i} needs a title and a url")
            check_size(f"news article {i} title", article["title"], 128)
        self._post(key, {"msgtype": "news", "news": {"articles": [dict(a) for a in articles]}})

    def send_template_card(self, key: str | SecretStr, card: Mapping[str, Any]) -> None:
        """text_notice or news_notice cards (robots cannot send interactive cards)."""
        if card.get("card_type") not in ("text_notice", "news_notice"):
            raise InvalidInput("robots send only text_notice or news_notice template cards")
        self._post(key, {"msgtype": "template_card", "template_card": dict(card)})
