"""People-facing text: `Templates` reads the YAML a company edits (templates/*.yaml) and fills its
`str.format` fields; the markdown helpers split long text into messages within a channel's byte
limit (robot markdown 4096 bytes, app markdown 2048) without dropping anything. Used by every
feature that writes to people (digests, notices, reports, progress)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from wecom_oa.errors import ConfigurationError, InvalidInput

DEFAULT_TEMPLATES_PATH = Path(__file__).resolve().parent / "templates" / "digests.yaml"
ROBOT_MARKDOWN_LIMIT = 4096
APP_MARKDOWN_LIMIT = 2048


class Templates:
    """People-facing text from a YAML file a company can edit. `fill` uses `str.format` fields."""

    def __init__(self, data: Mapping[str, Any], source: str = "templates") -> None:
        self._data = data
        self.source = source

    @classmethod
    def load(cls, path: Path = DEFAULT_TEMPLATES_PATH) -> Templates:
        import yaml  # here, not at import: the API's cold start loads this module, not its YAML

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"{path.name}: cannot read templates ({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"{path.name}: templates must be a mapping")
        return cls(data, path.name)

    def text(self, key: str) -> str:
        node: Any = self._data
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise ConfigurationError(f"{self.source}: template {key!r} is missing", details={"template": key})
            node = node[part]
        if not isinstance(node, str):
            raise ConfigurationError(f"{self.source}: template {key!r} must be a string", details={"template": key})
        return node

    def section(self, key: str) -> Mapping[str, Any]:
        """A mapping of the file (e.g. per-type texts), empty when the file has none under `key`."""
        node = self._data.get(key)
        if node is not None and not isinstance(node, Mapping):
            raise ConfigurationError(f"{self.source}: {key!r} must be a mapping", details={"template": key})
        return node or {}

    def fill(self, key: str, **values: Any) -> str:
        try:
            return self.text(key).format_map(values)
        except (KeyError, IndexError, ValueError, AttributeError) as exc:
            raise ConfigurationError(
                f"{self.source}: template {key!r} uses an unknown or malformed field ({exc})",
                details={"template": key},
            ) from None


def format_duration(templates: Templates, delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return templates.fill("units.days_hours", days=days, hours=hours)
    if hours:
        return templates.fill("units.hours_minutes", hours=hours, minutes=mins)
    return templates.fill("units.minutes", minutes=mins)


def shorten(text: str, max_chars: int) -> str:
    """Single-line text of at most `max_chars` characters; a visible "…" marks a cut."""
    flat = " ".join(text.split()).replace("[", "【").replace("]", "】")
    return flat if len(flat) <= max_chars else flat[: max(1, max_chars - 1)] + "…"


def byte_len(text: str) -> int:
    return len(text.encode("utf-8"))


def split_markdown(lines: Sequence[str], limit_bytes: int, *, continued: str = "") -> list[str]:
    """Join `lines` with newlines into messages of at most `limit_bytes` UTF-8 bytes each.

    Splits only between lines; a single line longer than a message is wrapped at character
    boundaries (never dropped). When there is more than one message, each after the first starts
    with `continued` formatted with `part` and `total`. Raises InvalidInput for a limit that cannot
    hold the continuation marker plus one character.
    """
    whole = "\n".join(lines)
    if byte_len(whole) <= limit_bytes:
        return [whole] if whole else []
    reserve = byte_len(continued.format(part=9999, total=9999)) + 1 if continued else 0
    budget = limit_bytes - reserve
    if budget < 4:
        raise InvalidInput(f"message limit {limit_bytes} bytes is too small", details={"field": "limit_bytes"})
    chunks: list[list[str]] = [[]]
    size = 0
    for piece in (p for line in lines for p in _wrap(line, budget)):
        extra = byte_len(piece) + (1 if chunks[-1] else 0)
        if chunks[-1] and size + extra > budget:
            chunks.append([])
            size, extra = 0, byte_len(piece)
        chunks[-1].append(piece)
        size += extra
    total = len(chunks)
    out = []
    for part, chunk in enumerate(chunks, start=1):
        head = [continued.format(part=part, total=total)] if continued and part > 1 else []
        out.append("\n".join(head + chunk))
    return out


def _wrap(line: str, budget: int) -> list[str]:
    if byte_len(line) <= budget:
        return [line]
    pieces, current, size = [], [], 0
    for ch in line:
        n = byte_len(ch)
        if size + n > budget:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(ch)
        size += n
    pieces.append("".join(current))
    return pieces
