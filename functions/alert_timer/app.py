"""Alert incident timer task: send what is due (first message, escalation, reminder), return the next wake-up."""

from wecom_oa.alerts.service import check
from wecom_oa.aws.asl import asl_task
from wecom_oa.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@asl_task
def lambda_handler(event: dict, context: object) -> dict:
    logger.append_keys(group_id=event.get("group_id"))
    return check(event["group_id"])
