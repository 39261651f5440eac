"""Request bodies of the alert API: one alert from a business system, Prometheus Alertmanager's
webhook payload (version 4), and the person acting on an alert."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, ConfigDict, Field, field_validator

from wecom_oa.validation import Model

Text = Annotated[str, Field(min_length=1, max_length=128)]
LabelValue = Annotated[str, Field(max_length=256)]


class AlertIn(Model):
    """An alert as a business system sends it. The same (source, dedup_key) while it is open
    updates that alert (a repeat), it does not send a new message."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "source": "WMS", "type": "库存不足", "severity": "warning", "dedup_key": "store-12-SKU-A1001",
        "labels": {"store": "上海南京路店"},
        "fields": {"SKU": "A1001", "当前库存": 3, "安全库存": 20, "补货建议": "补货 50 件"}}]})

    source: Text = Field(description="the sending system, e.g. WMS")
    type: Text = Field(description="alert type: a key of templates/alerts.yaml `types` (the shipped ones: low "
                                   "stock, order timeout, equipment failure, incoming quality)")
    severity: Literal["critical", "warning", "info"] = "warning"
    dedup_key: Text = Field(description="the same key: the same alert")
    labels: dict[Text, LabelValue] = Field(default_factory=dict, max_length=30,
                                           description="routing and grouping labels, e.g. store, device")
    fields: dict[Text, Any] = Field(default_factory=dict, max_length=30,
                                    description="structured content shown to people (SKU, stock, suggestion …)")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = Field(None, description="set when the source has recovered: the alert resolves")

    @field_validator("fields")
    @classmethod
    def _scalar_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        for key, v in value.items():
            if not isinstance(v, str | int | float | bool) or (isinstance(v, str) and len(v) > 512):
                raise ValueError(f"fields.{key} must be a string (≤ 512 characters), a number or a boolean")
        return value


class AlertmanagerAlert(Model):
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - Alertmanager's field names
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str | None = None  # noqa: N815
    fingerprint: str | None = None


class AlertmanagerWebhook(Model):
    """https://prometheus.io/docs/alerting/latest/configuration/#webhook_config (version 4)."""

    version: str = "4"
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    groupKey: str = ""  # noqa: N815
    alerts: list[AlertmanagerAlert] = Field(min_length=1, max_length=1000)


class ActRequest(Model):
    model_config = ConfigDict(extra="forbid")
    by: Text = Field(description="userid of the person acting (`corpid:userid` for a partner corp's member)",
                     examples=["xuming"])


class AlertStored(Model):
    id: str
    state: str
    group_id: str | None = None
    repeat: bool = False
