"""HTTP bodies of the notices (公告) API.

- `POST /notices` takes `NoticeRequest` → 201 `{id, recipients, inactive, messages, status}`.
- `GET /notices/{id}` → 200 the read (acknowledgement) counts, by region and department.
- `GET /notices?month=&limit=&cursor=` → 200 one page of the month's notices.

Recipients are counted on the raw body first (`check_recipient_counts`: WeCom's message/send takes
at most 1000 userids, 100 departments and 100 tags), so an oversized list answers 400
`limit_exceeded` naming the field before anything else is validated or looked up.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator

from wecom_oa.errors import InputLimitExceeded
from wecom_oa.validation import Model

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


def check_recipient_counts(body: Mapping[str, Any]) -> None:
    """At most MAX_USERIDS userids, MAX_PARTIES departments and MAX_TAGS tags (WeCom's message/send
    limits), counted on the raw body before anything is validated or looked up; InputLimitExceeded
    names the field."""
    from wecom_oa.api import MAX_PARTIES, MAX_TAGS, MAX_USERIDS

    for field, limit, name in (("touser", MAX_USERIDS, "max_userids"), ("toparty", MAX_PARTIES, "max_parties"),
                               ("totag", MAX_TAGS, "max_tags")):
        value = body.get(field)
        count = len([v for v in value.split("|") if v]) if isinstance(value, str) else \
            len(value) if isinstance(value, list) else 0
        if count > limit:
            raise InputLimitExceeded(f"{field}: {count} recipients; the limit is {limit} per notice ({name})",
                                     details={"limit": name, "max": limit, "where": field})


class NoticePartner(Model):
    """Members of a downstream partner corp (dealer, partner factory) the app is shared with."""

    model_config = ConfigDict(extra="forbid")
    corp: str = Field(min_length=1, max_length=64, description="the partner corp's corpid")
    users: list[str] = Field(min_length=1, max_length=1000, description="userids in that corp")


class NoticeRequest(Model):
    """`{title, content, sender, touser?, toparty?, totag?, ack_deadline?, nudge_after?,
    escalate_after?}`: at least one of touser / toparty / totag (a list, or WeCom's `a|b` form);
    `ack_deadline` with a UTC offset, default from `digests.yaml` (`notices`) in business time;
    `nudge_after` / `escalate_after` in minutes override the policy for this notice."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "冬季消防安全检查通知", "content": "各门店请于本周五前完成灭火器与疏散通道自查，并在卡片上点击「已阅」。",
        "sender": "lina", "toparty": [2, 3], "ack_deadline": "2026-12-11T18:00:00+08:00",
    }]})

    title: str = Field(min_length=1, max_length=128)
    content: str = Field(min_length=1, max_length=4000)
    sender: str = Field(min_length=1, max_length=64, description="the member who publishes it; gets the final report")
    touser: list[str] | str | None = None
    toparty: list[int] | str | None = None
    totag: list[str | int] | str | None = None
    partners: list[NoticePartner] | None = Field(None, max_length=50, description="downstream partner corps' "
                                                 "members (upstream/downstream chain), counted per partner")
    ack_deadline: datetime | None = None
    nudge_after: int | None = Field(None, ge=1, description="minutes; alias nudge_after_minutes")
    escalate_after: int | None = Field(None, ge=1, description="minutes; alias escalate_after_minutes")
    nudge_after_minutes: int | None = Field(None, ge=1)
    escalate_after_minutes: int | None = Field(None, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _counted_first(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            check_recipient_counts(data)
        return data
