"""Notifier tasks: approval stage cards (.waitForTaskToken), approval outcome, plain sends."""

from wecom_oa.asl import asl_task
from wecom_oa.models.approvals_api import parse_notifier_task
from wecom_oa.observability import logger
from wecom_oa.services import notifier


@logger.inject_lambda_context(clear_state=True)
@asl_task
def lambda_handler(event: dict, context: object) -> dict:
    task = parse_notifier_task(event)
    logger.append_keys(action=task.action, approval_id=getattr(task, "approval_id", None))
    return notifier.dispatch(task)
