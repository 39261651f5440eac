"""WeCom callback endpoint (GET URL verification, POST events).

Kept light for cold starts: no event-handler resolver and no tracer; see
`wecom_oa.wecom.callbacks` for the verify → decrypt → dedup → store → enqueue contract.
"""

from wecom_oa.observability import logger, metrics
from wecom_oa.wecom.callbacks import handle_http


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    return handle_http(event)
