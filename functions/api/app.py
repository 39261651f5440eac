"""HTTP API for other systems: approvals, tickets, notices, progress, reports; plus /health.

Thin: each route parses the request, calls one service function and maps the result; a feature's
module is loaded on the first request for one of its routes, so a cold start loads only what it serves. Errors are
mapped once by `wecom_oa.http.register_error_handlers` (4xx naming the field, never a stack trace).
"""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from wecom_oa import api
from wecom_oa.http import register_error_handlers
from wecom_oa.observability import logger, metrics
from wecom_oa.routes import ROUTE_MODULES

app = APIGatewayHttpResolver(serializer=api.dumps)
register_error_handlers(app)


def _created(body: dict) -> Response:
    return Response(status_code=201, content_type="application/json", body=api.dumps(body))


@app.get("/health")
def health() -> dict:
    return api.health()


# Each feature's module is imported on the first request for one of its routes (routes.py).
for method, path, module in ROUTE_MODULES:
    app.route(api.resolver_path(path), method)(api.bind_lazy(method, path, module, app, created=_created))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
