"""The company's digest configuration (config/digests.yaml: project groups, schedules, notice,
report and progress policies, links), its calendars, digest texts and robot keys: loaded lazily
once per container, replaceable by tests and the local runner (`configure`, `reset`). Features that
read the project groups or the links (approvals, tasks, notices) use this module, not the digests
service."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wecom_oa import wiring
from wecom_oa.settings import get_settings

if TYPE_CHECKING:
    from wecom_oa.digests.schedules import DigestConfig
    from wecom_oa.texts import Templates
    from wecom_oa.worktime.calendar import CalendarSet

# Each piece's loader (digests.schedules, worktime.calendar with chinese_calendar, texts) is imported
# when the piece is first loaded: the digest function reads the calendars on its first run, not at
# import, and a feature importing this module for the links or the groups loads only what it reads.

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
        from wecom_oa.digests.schedules import load_digest_config

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
    def load() -> CalendarSet:
        from wecom_oa.worktime.calendar import load_calendars

        return load_calendars(get_settings().config_dir / "calendars.yaml")

    return _get("calendars", load)


def templates() -> Templates:
    def load() -> Templates:
        from wecom_oa.texts import Templates

        return Templates.load(get_settings().templates_dir / "digests.yaml")

    return _get("templates", load)


def robot_keys() -> Mapping[str, str]:
    return _get("robot_keys", lambda: wiring.wecom_credentials().robot_keys)
