"""Alert incident timer task: send what is due (first message, escalation, reminder), return the next wake-up.

The alert service (its config models, and with them pydantic and YAML) is imported with the first
event rather than at import (bench/bench_cold_start.py)."""

from wecom_oa.aws.asl import asl_task
from wecom_oa.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@asl_task
def lambda_handler(event: dict, context: object) -> dict:
    from wecom_oa.alerts.service import check

    logger.append_keys(group_id=event.get("group_id"))
    return check(event["group_id"])
