"""One timestamp convention in every answer of the HTTP API: ISO 8601 to the second with the
company's offset (+08:00 for Asia/Shanghai), whether the time was stored in UTC or sent with
another offset. Walks the get and list answers of approvals, tickets, notices, tasks and
workflows (and /health) and checks every date-time in them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from wecom_oa.clock import VirtualClock, set_clock

ANY_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
COMPANY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")


@pytest.fixture
def api(local_app: Any) -> Any:
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-24T10:00:00+08:00"), scale=1.0))
    yield local_app
    set_clock(None)


def _times(value: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, text) of every string in an answer that looks like a date-time."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in _times(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [t for i, v in enumerate(value) for t in _times(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) and ANY_TIME.fullmatch(value) else []


def _get(app: Any, path: str, query: str = "") -> Any:
    status, body = app.http("GET", path, query=query)
    assert status == 200, (path, body)
    return body


def test_given_every_feature_when_read_and_listed_then_every_time_has_the_company_offset(api) -> None:
    _, approval = api.http("POST", "/approvals", {"type": "expense", "applicant": "zhangsan",
                                                  "form": {"amount": 300, "reason": "打车"}})
    _, ticket = api.http("POST", "/tickets", {"type": "repair", "title": "空调外机异响", "reporter": "chenjing",
                                              "priority": "P3",
                                              "fields": {"device_name": "空调外机", "location": "办公楼顶"}})
    api.http("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})
    _, notice = api.http("POST", "/notices", {"title": "盘点通知", "content": "今晚盘点", "touser": ["zhangsan"],
                                              "sender": "lina", "ack_deadline": "2026-11-25T10:00:00Z"})
    _, task = api.http("POST", "/tasks", {"title": "提交结项报告", "owner": "zhangsan", "group": "service-desk",
                                          "due_at": "2026-11-25T01:00:00-09:00"})
    _, workflow = api.http("POST", "/workflows", {"template": "onboarding", "subject": {"new_hire": "wangwu"},
                                                  "assignments": {"mentor": "lina"}})
    api.stack.drain()

    answers = {
        "approval": _get(api, f"/approvals/{approval['id']}"),
        "approvals": _get(api, "/approvals", "applicant=zhangsan"),
        "ticket": _get(api, f"/tickets/{ticket['id']}"),
        "tickets": _get(api, "/tickets", "team=tech_support"),
        "notice": _get(api, f"/notices/{notice['id']}"),
        "notices": _get(api, "/notices", "month=2026-11"),
        "task": _get(api, f"/tasks/{task['id']}"),
        "tasks": _get(api, "/tasks", "group=service-desk"),
        "workflow": _get(api, f"/workflows/{workflow['id']}"),
        "health": _get(api, "/health"),
    }

    for name, answer in answers.items():
        times = _times(answer)
        assert times, f"{name}: no time in the answer, nothing was checked"
        assert [t for t in times if not COMPANY.fullmatch(t[1])] == [], name
    assert answers["task"]["due_at"] == "2026-11-25T18:00:00+08:00"      # sent as 01:00-09:00
    assert answers["notices"]["notices"][0]["ack_deadline"] == "2026-11-25T18:00:00+08:00"  # sent as 10:00Z
    assert answers["approval"]["created_at"].startswith("2026-11-24T10:0")
