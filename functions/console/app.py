"""工作台 console: server-rendered pages under /console behind WeCom login (wecom_oa.console).

Its own function, so the API's cold start and permissions stay the API's: this one renders HTML,
reads the features' items through their public functions and answers errors as Chinese pages
(404 for an item outside the viewer's data scope, exactly as for one that does not exist).
"""

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths

from wecom_oa.console import api as console
from wecom_oa.errors import InvalidInput, NotFound, OAError
from wecom_oa.observability import logger, metrics

app = APIGatewayHttpResolver()
app.include_router(console.router)


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response[str]:
    return console.message_page(console.t("pages.not_found_title"), console.t("pages.not_found"), 404)


@app.exception_handler(console.LoginRequired)
def _login(exc: console.LoginRequired) -> Response[str]:
    return console.login_redirect()


@app.exception_handler(console.Forbidden)
def _forbidden(exc: console.Forbidden) -> Response[str]:
    logger.info("console request refused", extra={"reason": str(exc)})
    return console.message_page(console.t("pages.refused_title"), console.t("pages.refused"), 403, login_again=True)


@app.exception_handler(InvalidInput)
def _invalid(exc: InvalidInput) -> Response[str]:
    return console.message_page(console.t("pages.invalid_title"), console.t("pages.invalid", problem=exc.message), 400)


@app.exception_handler(OAError)
def _oa_error(exc: OAError) -> Response[str]:
    logger.warning("console request failed", extra={"code": exc.code, "error": exc.message})
    return console.message_page(console.t("pages.failed_title"), console.t("pages.failed"),
                                exc.status if exc.status >= 400 else 500)


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response[str]:
    """Anything else: a Chinese page and a 500, the details in the log only."""
    logger.exception("console page failed")
    return console.message_page(console.t("pages.failed_title"), console.t("pages.failed"), 500)


@app.not_found
def _no_route(exc: Exception) -> Response[str]:
    return console.message_page(console.t("pages.not_found_title"), console.t("pages.no_page"), 404)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return app.resolve(event, context)
