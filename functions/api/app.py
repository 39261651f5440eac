"""HTTP API for other systems: approvals, tickets, notices, progress, reports; plus /health.

Thin: each route parses the request, calls one service function and maps the result. Errors are
mapped once by `wecom_oa.http.register_error_handlers` (4xx naming the field, never a stack trace).
"""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from wecom_oa import (
    api,
    routes,  # noqa: F401 - routes register themselves
)
from wecom_oa.http import register_error_handlers
from wecom_oa.observability import logger, metrics

app = APIGatewayHttpResolver(serializer=api.dumps)
register_error_handlers(app)


def _created(body: dict) -> Response:
    return Response(status_code=201, content_type="application/json", body=api.dumps(body))


@app.get("/health")
def health() -> dict:
    return api.health()


for method, path, fn in api.ROUTES:
    app.route(path, method)(api.bind(fn, app, created=_created))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
