"""The company's digest configuration (config/digests.yaml: project groups, schedules, notice,
report and progress policies, links), its calendars, digest texts and robot keys: loaded lazily
once per container, replaceable by tests and the local runner (`configure`, `reset`). Features that
read the project groups or the links (approvals, tasks, notices) use this module, not the digests
service."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from wecom_oa import wiring
from wecom_oa.digests.schedules import DigestConfig, load_digest_config
from wecom_oa.settings import get_settings
from wecom_oa.texts import Templates
from wecom_oa.worktime.calendar import CalendarSet, load_calendars

_lock = threading.Lock()
_overrides: dict[str, Any] = {}
_cache: dict[str, Any] = {}


def configure(*, config: DigestConfig | None = None, calendars: CalendarSet | None = None,
              robot_keys: Mapping[str, str] | None = None, templates: Templates | None = None) -> None:
    """Replace configuration pieces (None leaves a piece as it is)."""
    with _lock:
        for name, value in (("config", config), ("calendars", calendars), ("robot_keys", robot_keys),
                            ("templates", templates)):
            if value is not None:
                _overrides[name] = value


def reset() -> None:
    with _lock:
        _overrides.clear()
        _cache.clear()


def _get(name: str, build: Any) -> Any:
    with _lock:
        if name in _overrides:
            return _overrides[name]
        if name not in _cache:
            _cache[name] = build()
        return _cache[name]


def digest_config() -> DigestConfig:
    """digests.yaml; a deployment's `PublicBaseUrl` (OA_PUBLIC_BASE_URL), when set, is the base of
    every link in cards and digests instead of the file's `base_url`."""
    def load() -> DigestConfig:
        settings = get_settings()
        config = load_digest_config(settings.config_dir / "digests.yaml")
        if settings.public_base_url:
            config = config.model_copy(update={"base_url": settings.public_base_url.rstrip("/")})
        return config

    return _get("config", load)


def page_url(kind: str, item_id: str) -> str | None:
    """The console page of an item (`links.<kind>` of digests.yaml under the deployment's
    PublicBaseUrl) for a card's 查看详情; None when no PublicBaseUrl is set (a card then has no link
    rather than one to the file's placeholder host)."""
    from urllib.parse import quote

    if not get_settings().public_base_url:
        return None
    config = digest_config()
    path = config.links.get(kind)
    return config.base_url.rstrip("/") + path.format(id=quote(item_id, safe="")) if path else None


def calendars() -> CalendarSet:
    return _get("calendars", lambda: load_calendars(get_settings().config_dir / "calendars.yaml"))


def templates() -> Templates:
    return _get("templates", lambda: Templates.load(get_settings().templates_dir / "digests.yaml"))


def robot_keys() -> Mapping[str, str]:
    return _get("robot_keys", lambda: wiring.wecom_credentials().robot_keys)
