"""HTTP API for other systems: approvals, tickets, notices, tasks, progress, reports; plus /health.

powertools owns the routing and the validation: each feature's `Router` (wecom_oa.routes) is
included, bodies and query strings are validated from the pydantic models in the route
signatures, and errors are mapped once by `wecom_oa.http.register_error_handlers` (400 naming the
field, never a stack trace). Bodies are decoded by `wecom_oa.api.json_body`, which enforces the
input limits before and while it parses. A cold start loads only the platform: a feature's router
(with its models) is included on the first request under its path segment, and its service is
imported when a route of it runs.
"""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.logging import correlation_paths

from wecom_oa import api, routes
from wecom_oa.http import as_json_body, error_response, register_error_handlers, reject_unknown_query
from wecom_oa.observability import logger, metrics

app = APIGatewayHttpResolver(serializer=api.dumps, enable_validation=True, json_body_deserializer=api.json_body)
register_error_handlers(app)
app.use(middlewares=[reject_unknown_query])


@app.get("/health", tags=["health"], summary="Liveness and one read of the table")
def health() -> dict:
    return api.health()


INCLUDED: set[str] = set()  # the routers included so far (routes.include_for)


def include_all() -> APIGatewayHttpResolver:
    """The resolver with every feature's routes (the OpenAPI document, the route table test)."""
    routes.include_all(app, INCLUDED)
    return app


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    try:
        api.check_event_body(event)
    except Exception as exc:  # noqa: BLE001 - mapped like any other error (413 payload_too_large)
        import json

        status, body = error_response(exc)
        return {"statusCode": status, "headers": {"Content-Type": "application/json"},
                "body": json.dumps(body, ensure_ascii=False)}
    routes.include_for(app, event.get("rawPath") or event.get("path") or "/", INCLUDED)
    return app.resolve(as_json_body(event), context)
