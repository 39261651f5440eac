"""Route table of the HTTP API. Service modules register `(method, path, fn)`; `functions/api`
binds them to the powertools resolver. A route function takes an `ApiRequest` and returns
`(status, body)`; errors are raised as typed `OAError`s and mapped once in `wecom_oa.http`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from wecom_oa.errors import InvalidInput

RouteFn = Callable[["ApiRequest"], tuple[int, Any]]
ROUTES: list[tuple[str, str, RouteFn]] = []


@dataclass(frozen=True)
class ApiRequest:
    params: dict[str, str]
    query: dict[str, str]
    raw_body: str | None

    def json(self) -> dict[str, Any]:
        if not self.raw_body:
            raise InvalidInput("request body is required (JSON object)")
        try:
            body = json.loads(self.raw_body)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"request body is not valid JSON (line {exc.lineno}, column {exc.colno})") from None
        if not isinstance(body, dict):
            raise InvalidInput("request body must be a JSON object")
        return body


def route(method: str, path: str) -> Callable[[RouteFn], RouteFn]:
    def register(fn: RouteFn) -> RouteFn:
        ROUTES.append((method.upper(), path.replace("{", "<").replace("}", ">"), fn))
        return fn

    return register


def bind(fn: RouteFn, app: Any, *, created: Callable[[Any], Any]) -> Callable[..., Any]:
    def endpoint(**params: str) -> Any:
        event = app.current_event
        request = ApiRequest(params=params, query=dict(event.query_string_parameters or {}),
                             raw_body=event.decoded_body)
        status, body = fn(request)
        return created(body) if status == 201 else body

    endpoint.__name__ = fn.__name__
    return endpoint


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=_default)


def health() -> dict[str, Any]:
    """Liveness plus one cheap read of the table, so 'up' means the data store answers."""
    from wecom_oa.adapters.dynamo import app_table
    from wecom_oa.clock import get_clock
    from wecom_oa.settings import get_settings

    app_table().get({"pk": "HEALTH", "sk": "META"}, consistent=False)
    return {"status": "ok", "service": "wecom-oa", "time": get_clock().now().isoformat(),
            "local_mode": get_settings().local_mode}
