"""Request-parameter parsing shared by the sandbox's OA APIs (approvals, journals)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from local.sandbox.errcodes import ApiError


def filters(value: Any, keys: Sequence[str], param: Callable[[str], ApiError]) -> list[tuple[str, str]]:
    """`filters: [{key, value}]` → [(key, value)]; `param(problem)` builds the API's own errcode."""
    if not isinstance(value, list):
        raise param("filters must be a list")
    out = []
    for flt in value:
        key = flt.get("key") if isinstance(flt, dict) else None
        if key not in keys:
            raise param(f"unknown filter key {key!r}, expected one of {', '.join(keys)}")
        out.append((key, str(flt.get("value"))))
    return out
