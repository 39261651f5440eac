"""Rendering of the console's pages: Jinja2 templates from `templates/console/` (a company's own
`OA_TEMPLATES_DIR/console/` first, so it can edit any page), autoescaped, and the static assets
(stylesheet, script, Apache ECharts) served by the console itself: no third-party CDN at run time.
"""

from __future__ import annotations

import mimetypes
from functools import lru_cache
from pathlib import Path
from typing import Any

from wecom_oa.settings import PACKAGE_DIR, get_settings

STATIC_DIR = Path(__file__).resolve().parent / "static"


@lru_cache(maxsize=4)
def _environment(company_dir: Path) -> Any:
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(company_dir), FileSystemLoader(PACKAGE_DIR / "templates" / "console")]),
        autoescape=select_autoescape(default=True, default_for_string=True), undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True)
    env.filters["multiply100"] = lambda v: round(100 * float(v or 0), 1)
    return env


def render(template: str, **context: Any) -> str:
    """The page `template` with `context`; a missing variable is an error, never a blank."""
    env = _environment(get_settings().templates_dir / "console")
    page = env.get_template(template)
    defaults: dict[str, Any] = {"me": None, "scope": None, "csrf": "", "nav": "", "flash": None, "errors": {},
                                "values": {}, "form_error": None, "form_action": None, "corp_name": _corp_name()}
    return page.render(**{**defaults, **context})


def _corp_name() -> str:
    return texts().text("corp_name")


@lru_cache(maxsize=4)
def _texts(path: Path) -> Any:
    from wecom_oa.texts import Templates

    return Templates.load(path)


def texts() -> Any:
    """templates/console.yaml: the console's messages and labels."""
    return _texts(get_settings().templates_dir / "console.yaml")


def static_file(name: str) -> tuple[bytes, str] | None:
    """(content, content type) of a static asset, or None (a path outside the folder included)."""
    path = (STATIC_DIR / name).resolve()
    if STATIC_DIR not in path.parents or not path.is_file():
        return None
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "text/javascript"):
        kind += "; charset=utf-8"
    return path.read_bytes(), kind
