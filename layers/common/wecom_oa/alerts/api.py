"""HTTP routes of alerts (告警) from business systems and monitoring: post one, Alertmanager's
webhook, read one, acknowledge, resolve, and the month's response times. The service is imported
on the first request."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from wecom_oa.alerts.models import ActRequest, AlertIn, AlertmanagerWebhook, AlertStored
from wecom_oa.http import ERRORS, created, created_doc, ok_doc

router = Router()
TAG = ["alerts"]
AlertId = Annotated[str, Path(min_length=1, max_length=80, description="alert id (`AL…`) or incident id (`AG…`)")]


@router.post("/alerts", tags=TAG, summary="Raise an alert (the same source + dedup_key: the same alert)",
             responses={**created_doc(AlertStored), **ok_doc(AlertStored, "a repeat or the resolution of an open alert"),
                        **ERRORS})
def raise_alert(body: Annotated[AlertIn, Body()]) -> Response[dict[str, Any]]:
    """Routed by config/alerts.yaml: alerts of one route and `group_by` labels are one incident
    and one message; `ends_at` resolves the alert."""
    from wecom_oa.alerts import service

    status, stored = service.ingest(body)
    return created(stored, status)


@router.post("/alerts/alertmanager", tags=TAG, summary="Prometheus Alertmanager webhook receiver (version 4)",
             responses=ERRORS)
def alertmanager(body: Annotated[AlertmanagerWebhook, Body()]) -> dict[str, Any]:
    """Point an Alertmanager `webhook_configs` url here: each alert is routed like POST /alerts
    (source `alertmanager`, type its alertname, resolved alerts resolve)."""
    from wecom_oa.alerts import service

    return service.ingest_alertmanager(body)


@router.get("/alerts/stats", tags=TAG, summary="Time to acknowledge and to resolve, per type and receiver",
            responses=ERRORS)
def alert_stats(
    month: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="`YYYY-MM` (UTC); default: this month")] = None,
) -> dict[str, Any]:
    from wecom_oa.alerts import service
    from wecom_oa.clock import get_clock

    return service.stats(month or get_clock().now().strftime("%Y-%m"))


@router.get("/alerts/<id>", tags=TAG, summary="An alert and its incident", responses=ERRORS)
def get_alert(id: AlertId) -> dict[str, Any]:
    from wecom_oa.alerts import service

    return service.get(id)


@router.post("/alerts/<id>/ack", tags=TAG, summary="Acknowledge (claim) the alert's incident", responses=ERRORS)
def ack(id: AlertId, body: Annotated[ActRequest, Body()]) -> dict[str, Any]:
    from wecom_oa.alerts import service

    return service.ack(id, body.by)


@router.post("/alerts/<id>/resolve", tags=TAG, summary="Mark the alert's incident handled (resolved)",
             responses=ERRORS)
def resolve(id: AlertId, body: Annotated[ActRequest, Body()]) -> dict[str, Any]:
    from wecom_oa.alerts import service

    return service.resolve(id, body.by)
