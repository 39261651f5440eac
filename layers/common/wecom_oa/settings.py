"""Every environment variable the application reads is read here, into one pydantic model.

Nothing is read at import time: `get_settings()` builds the model on first use and caches it;
tests call `reset_settings()` after changing the environment.

Secrets are not environment values in a deployment: `WECOM_SECRET_NAME` names a Secrets Manager
secret (JSON with `corp_secret`, `token`, `encoding_aes_key`, `robot_keys`) that
`wecom_oa.wiring` reads through powertools parameters. The plain `WECOM_SECRET`,
`WECOM_TOKEN` and `WECOM_ENCODING_AES_KEY` variables exist for local mode and tests, where they
have sandbox defaults.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import (
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from wecom_oa.errors import ConfigurationError
from wecom_oa.validation import Model

PACKAGE_DIR = Path(__file__).resolve().parent

# Sandbox identities used when local mode runs without WeCom settings. They are not secrets: they
# only ever talk to the local sandbox, and a deployment never falls back to them.
LOCAL_DEFAULTS = {
    "WECOM_CORP_ID": "ww5a1d0c0ffee0b0a7",
    "WECOM_AGENT_ID": "1000002",
    "WECOM_SECRET": "sandbox-corp-secret",
    "WECOM_TOKEN": "sandboxtoken",
    "WECOM_ENCODING_AES_KEY": "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
}


class Settings(Model):
    """Typed view of the environment. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    local_mode: bool = Field(False, alias="LOCAL_MODE")
    region: str = Field("cn-north-1", alias="AWS_REGION")
    service_name: str = Field("wecom-oa", alias="POWERTOOLS_SERVICE_NAME")

    table_name: str = Field("wecom-oa", alias="TABLE_NAME")
    events_queue_url: str | None = Field(None, alias="EVENTS_QUEUE_URL")
    event_bus_name: str = Field("default", alias="EVENT_BUS_NAME")
    approval_state_machine_arn: str | None = Field(None, alias="APPROVAL_STATE_MACHINE_ARN")
    ticket_state_machine_arn: str | None = Field(None, alias="TICKET_STATE_MACHINE_ARN")
    alert_state_machine_arn: str | None = Field(None, alias="ALERT_STATE_MACHINE_ARN")

    wecom_api_base: str = Field("https://qyapi.weixin.qq.com/cgi-bin", alias="WECOM_API_BASE")
    wecom_corp_id: str | None = Field(None, alias="WECOM_CORP_ID")
    wecom_agent_id: int | None = Field(None, alias="WECOM_AGENT_ID")
    wecom_secret_name: str | None = Field(None, alias="WECOM_SECRET_NAME")
    wecom_secret: SecretStr | None = Field(None, alias="WECOM_SECRET")
    wecom_token: SecretStr | None = Field(None, alias="WECOM_TOKEN")
    wecom_encoding_aes_key: SecretStr | None = Field(None, alias="WECOM_ENCODING_AES_KEY")
    # Local mode only: JSON {robot name: webhook key}; deployed, robot keys live in the secret.
    wecom_robot_keys: SecretStr | None = Field(None, alias="WECOM_ROBOT_KEYS")
    # Upper bound of a callback body; larger bodies are refused with 413 before any parsing.
    callback_max_body_bytes: int = Field(64 * 1024, alias="CALLBACK_MAX_BODY_BYTES", gt=0)
    # How long a callback's idempotency record is kept (WeCom retries within seconds; ≥ 1 day).
    callback_dedup_ttl_seconds: int = Field(3 * 24 * 3600, alias="CALLBACK_DEDUP_TTL_SECONDS", ge=86400)
    # A signed callback timestamp further than this from the process clock is refused (403): a
    # replay after its dedup record expired cannot be accepted again. WeCom documents no window.
    callback_timestamp_window_seconds: int = Field(
        600, alias="CALLBACK_TIMESTAMP_WINDOW_SECONDS", ge=60, le=86400)

    config_dir: Path = Field(PACKAGE_DIR / "config", alias="OA_CONFIG_DIR")
    templates_dir: Path = Field(PACKAGE_DIR / "templates", alias="OA_TEMPLATES_DIR")
    default_timezone: str = Field("Asia/Shanghai", alias="OA_TIMEZONE")
    public_base_url: str = Field("", alias="OA_PUBLIC_BASE_URL")
    # WeCom web login for the console: OAuth2 网页授权 inside WeCom, QR login (扫码登录) on a PC.
    # Local mode points both at the sandbox's login pages.
    wecom_oauth_base: str = Field("https://open.weixin.qq.com", alias="WECOM_OAUTH_BASE")
    wecom_sso_base: str = Field("https://login.work.weixin.qq.com", alias="WECOM_SSO_BASE")
    # Cookies without `Secure` only for a plain-http local console (make run on 127.0.0.1).
    console_insecure_cookies: bool = Field(False, alias="CONSOLE_INSECURE_COOKIES")

    local_clock_start: datetime | None = Field(None, alias="LOCAL_CLOCK_START")
    local_time_scale: float = Field(1.0, alias="LOCAL_TIME_SCALE", gt=0, le=1)
    # "stepped": local time stands still until POST /_sandbox/clock moves it (acceptance tests, demos).
    local_clock: Literal["running", "stepped"] = Field("running", alias="LOCAL_CLOCK")
    sandbox_directory: Path | None = Field(None, alias="SANDBOX_DIRECTORY")

    @field_validator("local_clock_start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("LOCAL_CLOCK_START needs a UTC offset, e.g. 2026-11-23T09:00:00+08:00")
        return value

    @model_validator(mode="after")
    def _dedup_outlives_freshness(self) -> Settings:
        # A callback stored at t with timestamp ts (|t - ts| ≤ W) can be replayed until ts + W ≤ t + 2W:
        # its dedup record must still exist then.
        window = self.callback_timestamp_window_seconds
        if self.callback_dedup_ttl_seconds <= 2 * window:
            raise ValueError(f"CALLBACK_DEDUP_TTL_SECONDS must exceed twice CALLBACK_TIMESTAMP_WINDOW_SECONDS "
                             f"({2 * window} s): a replay inside the window must still find its dedup record")
        return self

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        values = {k: v for k, v in environ.items() if v != ""}
        if values.get("LOCAL_MODE", "").lower() in ("1", "true", "yes"):
            values = {**LOCAL_DEFAULTS, **values}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigurationError(f"invalid environment: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)


def reset_settings() -> None:
    get_settings.cache_clear()
