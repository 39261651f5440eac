"""Composition root: builds the adapters (WeCom client, directory, AWS clients) once per container.

Everything is lazy (nothing is created at import; the settings model, and with it pydantic, is
imported when an adapter is first built, so a function importing this module does not pay for it
before it needs it) and replaceable (`set_wecom_transport`, `reset`)
so tests and the local runner inject fakes without patching. Credentials come from Secrets Manager
(through powertools parameters, cached 5 min) when `WECOM_SECRET_NAME` is set, else from the
environment (local mode and tests).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from wecom_oa.errors import ConfigurationError
from wecom_oa.observability import redactor

_lock = threading.RLock()
_cache: dict[str, Any] = {}
_transport: Any = None


@dataclass(frozen=True)
class WeComCredentials:
    corp_id: str
    agent_id: int
    secret: str = field(repr=False)
    token: str = field(repr=False)
    encoding_aes_key: str = field(repr=False)
    robot_keys: dict[str, str] = field(default_factory=dict, repr=False)


def _cached(name: str, build: Any) -> Any:
    with _lock:
        if name not in _cache:
            _cache[name] = build()
        return _cache[name]


def wecom_credentials() -> WeComCredentials:
    def build() -> WeComCredentials:
        from wecom_oa.settings import get_settings

        s = get_settings()
        if not s.wecom_corp_id or s.wecom_agent_id is None:
            raise ConfigurationError("WECOM_CORP_ID and WECOM_AGENT_ID must be set")
        if s.wecom_secret_name:
            from aws_lambda_powertools.utilities import parameters

            data = parameters.get_secret(s.wecom_secret_name, transform="json", max_age=300)
            missing = [k for k in ("corp_secret", "token", "encoding_aes_key") if not data.get(k)]
            if missing:
                raise ConfigurationError(f"secret {s.wecom_secret_name} lacks {', '.join(missing)}")
            secret, token, aes = data["corp_secret"], data["token"], data["encoding_aes_key"]
            robots = dict(data.get("robot_keys") or {})
        else:
            if not (s.wecom_secret and s.wecom_token and s.wecom_encoding_aes_key):
                raise ConfigurationError(
                    "set WECOM_SECRET_NAME (deployed) or WECOM_SECRET, WECOM_TOKEN and WECOM_ENCODING_AES_KEY")
            secret = s.wecom_secret.get_secret_value()
            token = s.wecom_token.get_secret_value()
            aes = s.wecom_encoding_aes_key.get_secret_value()
            robots = _robot_keys(s.wecom_robot_keys.get_secret_value() if s.wecom_robot_keys else "")
        redactor.register(secret, token, aes, *robots.values())
        return WeComCredentials(s.wecom_corp_id, s.wecom_agent_id, secret, token, aes, robots)

    return _cached("credentials", build)


def _robot_keys(raw: str) -> dict[str, str]:
    import json

    if not raw:
        return {}
    try:
        keys = json.loads(raw)
    except ValueError:
        raise ConfigurationError("WECOM_ROBOT_KEYS must be a JSON object {name: key}") from None
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise ConfigurationError("WECOM_ROBOT_KEYS must be a JSON object {name: key}")
    return keys


def set_wecom_transport(transport: Any) -> None:
    """Route the WeCom client through an httpx transport (tests: the sandbox in-process)."""
    global _transport
    with _lock:
        _transport = transport
        _cache.pop("wecom_client", None)
        _cache.pop("directory", None)
        _cache.pop("sender", None)
        for name in [n for n in _cache if n.startswith("partner:") or n in ("shared_corps", "robot_client")]:
            _cache.pop(name, None)


def wecom_client() -> Any:
    def build() -> Any:
        import httpx

        from wecom_oa.aws.dynamo import app_table
        from wecom_oa.clock import get_clock
        from wecom_oa.settings import get_settings
        from wecom_oa.wecom.client import WeComClient, default_http_client
        from wecom_oa.wecom.token_cache import DynamoTokenStore, TokenCache

        creds = wecom_credentials()
        http = httpx.Client(transport=_transport, timeout=10.0) if _transport is not None else default_http_client()
        cache = TokenCache(DynamoTokenStore(app_table()), clock=get_clock())
        return WeComClient(get_settings().wecom_api_base, creds.corp_id, creds.agent_id, creds.secret,
                           cache, http=http, clock=get_clock())

    return _cached("wecom_client", build)


def robot_client() -> Any:
    """One group-robot client per container: its limiter keeps each robot within WeCom's 20
    messages a minute across every send of the container (callers merge rather than drop)."""
    def build() -> Any:
        from wecom_oa.settings import get_settings
        from wecom_oa.wecom.robot import RobotClient

        return RobotClient(api_base=get_settings().wecom_api_base, http=wecom_client().http)

    return _cached("robot_client", build)


def partner_client(corp_id: str) -> Any:
    """The shared app acting in downstream partner corp `corp_id` (上下游); `NotFound` when the app
    is not shared with that corp (or the corp has not confirmed the share)."""
    def build() -> Any:
        from wecom_oa.errors import NotFound

        corps = _cached("shared_corps", lambda: {c["corpid"]: c for c in wecom_client().shared_corps()})
        corp = corps.get(corp_id)
        if corp is None:
            with _lock:
                _cache.pop("shared_corps", None)  # shared since: look again next time
            raise NotFound(f"partner corp {corp_id!r} does not share this app (corpgroup/corp/list_app_share_info)")
        return wecom_client().downstream(corp_id, corp["agentid"])

    return _cached(f"partner:{corp_id}", build)


def send_ledger() -> Any:
    def build() -> Any:
        from wecom_oa.aws.dynamo import app_table
        from wecom_oa.wecom.ratelimit import DynamoSendLedger

        return DynamoSendLedger(app_table())

    return _cached("send_ledger", build)


def events_queue_enqueue(message: dict[str, Any], delay_seconds: int) -> None:
    """The sender's `Enqueue` in a deployment: the events queue (EVENTS_QUEUE_URL), with
    `DelaySeconds`. Resolved at call time, so a sender whose messages all fit needs no queue."""
    import json

    from wecom_oa.settings import get_settings

    url = get_settings().events_queue_url
    if not url:
        raise ConfigurationError("EVENTS_QUEUE_URL is not set (deferred sends are queued there)")
    aws("sqs").send_message(QueueUrl=url, MessageBody=json.dumps(message, ensure_ascii=False),
                            DelaySeconds=delay_seconds)


def sender() -> Any:
    """The paced sender every app message of the services goes through (messaging/sending.py)."""
    def build() -> Any:
        from wecom_oa.aws.dynamo import app_table
        from wecom_oa.messaging.sending import PacedSender

        return PacedSender(wecom_client(), send_ledger(), app_table(), events_queue_enqueue)

    return _cached("sender", build)


def directory_version() -> Any:
    """The directory version shared by every container (wecom/directory.py)."""
    def build() -> Any:
        from wecom_oa.aws.dynamo import app_table
        from wecom_oa.wecom.directory import DynamoDirectoryVersion

        return DynamoDirectoryVersion(app_table())

    return _cached("directory_version", build)


def directory() -> Any:
    def build() -> Any:
        from wecom_oa.wecom.directory import WeComDirectory

        return WeComDirectory(wecom_client(), version=directory_version())

    return _cached("directory", build)


def built_directory() -> Any | None:
    """This container's directory if something already built it, else None (nothing to evict)."""
    with _lock:
        return _cache.get("directory")


def aws(service: str) -> Any:
    def build() -> Any:
        import boto3

        return boto3.client(service)

    return _cached(f"aws:{service}", build)


def reset() -> None:
    global _transport
    with _lock:
        _cache.clear()
        _transport = None

