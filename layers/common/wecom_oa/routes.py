"""The HTTP API's routers, one per feature, by the first segment of the paths each serves. Each
module defines `router` (a powertools `Router`). The api function includes a feature's router on
the first request under one of its segments (`include_for`), so a cold start loads no feature
and a request loads only its own; `include_all` is for the OpenAPI document.
tests/unit/api/test_route_table.py checks that every router serves only its segments and that
the template exposes exactly these routes."""

from __future__ import annotations

import importlib
from typing import Any

ROUTERS: dict[str, str] = {
    "approvals": "wecom_oa.approvals.api",
    "tickets": "wecom_oa.tickets.api",
    "notices": "wecom_oa.notices.api",
    "tasks": "wecom_oa.tasks.api",
    "progress": "wecom_oa.digests.api",
    "reports": "wecom_oa.digests.api",
    "budgets": "wecom_oa.budgets.api",
    "outbox": "wecom_oa.messaging.api",
    "workflows": "wecom_oa.workflows.api",
    "alerts": "wecom_oa.alerts.api",
}


def segment(path: str) -> str:
    """`/tickets/TK1/actions` → `tickets`."""
    return path.lstrip("/").split("/", 1)[0]


def include_for(app: Any, path: str, included: set[str]) -> None:
    """Include the router that serves `path` into `app` unless it already is (no router serves
    it: the resolver answers 404 as for any unknown path)."""
    module = ROUTERS.get(segment(path))
    if module is not None and module not in included:
        app.include_router(importlib.import_module(module).router)
        included.add(module)


def include_all(app: Any, included: set[str]) -> None:
    for name in ROUTERS:
        include_for(app, f"/{name}", included)
