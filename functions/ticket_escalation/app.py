"""Ticket escalation timer task: check SLA clocks, escalate what is due, return the next wake-up."""

from wecom_oa.aws.asl import asl_task
from wecom_oa.observability import logger, metrics
from wecom_oa.tickets.service import check


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@asl_task
def lambda_handler(event: dict, context: object) -> dict:
    logger.append_keys(ticket_id=event.get("ticket_id"))
    return check(event["ticket_id"], int(event["generation"]))
