"""Scheduled digests, alarms, reminders, notice follow-ups and reconcilers (EventBridge Scheduler).

Thin: the scheduler's input `{"schedule": "<name>"}` selects one schedule of `config/digests.yaml`;
`services.digests.run` does the rest (once per period, skips non-workdays). A failed delivery raises:
Lambda's asynchronous retries run it again (sending only what is missing), then the event is parked in
DigestFailuresQueue (EventInvokeConfig on-failure destination) where the operator alarm fires.

The digest service (its config models, and with them pydantic and boto3) is imported with the first
run rather than at import (bench/bench_cold_start.py).
"""

from wecom_oa.observability import logger, metrics


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def lambda_handler(event: dict, context: object) -> dict:
    from wecom_oa.digests.service import DigestEvent, run

    parsed = DigestEvent.model_validate(event)
    logger.append_keys(schedule=parsed.schedule)
    return run(parsed.schedule, manual=parsed.manual)
