"""Notifier tasks: approval stage cards (.waitForTaskToken), approval outcome, plain sends.

The task models, and with them pydantic, are imported with the first event rather than at import
(bench/bench_cold_start.py)."""

from wecom_oa.approvals import notifier
from wecom_oa.aws.asl import asl_task
from wecom_oa.observability import logger


@logger.inject_lambda_context(clear_state=True)
@asl_task
def lambda_handler(event: dict, context: object) -> dict:
    from wecom_oa.approvals.models import parse_notifier_task

    task = parse_notifier_task(event)
    logger.append_keys(action=task.action, approval_id=getattr(task, "approval_id", None))
    return notifier.dispatch(task)
