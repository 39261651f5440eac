"""Approval state machine tasks: evaluate, next_stage, stage_timeout, finalize, fail.

Typed errors propagate (their class name is the ASL error name Retry/Catch match); `asl_task` renames
the transient ones to the names Retry lists (see wecom_oa.aws.asl). The task models, and with them
pydantic, are imported with the first event rather than at import (bench/bench_cold_start.py)."""

from typing import Any

from wecom_oa.approvals import service as approvals
from wecom_oa.aws.asl import asl_task
from wecom_oa.observability import logger


def _run(task: Any) -> dict:
    from wecom_oa.approvals.models import (
        EvaluateTask,
        FailTask,
        FinalizeTask,
        NextStageTask,
        StageTimeoutTask,
    )

    if isinstance(task, EvaluateTask):
        return approvals.evaluate_task(task.approval_id)
    if isinstance(task, NextStageTask):
        return approvals.next_stage(task.approval_id).model_dump()
    if isinstance(task, StageTimeoutTask):
        return approvals.stage_timeout(task.approval_id, task.stage, task.round).model_dump()
    if isinstance(task, FinalizeTask):
        return approvals.finalize(task.approval_id).model_dump()
    assert isinstance(task, FailTask)
    return approvals.fail(task.approval_id, task.error)


@logger.inject_lambda_context(clear_state=True)
@asl_task
def lambda_handler(event: dict, context: object) -> dict:
    from wecom_oa.approvals.models import parse_branch_task

    task = parse_branch_task(event)
    logger.append_keys(approval_id=task.approval_id, action=task.action)
    return _run(task)
