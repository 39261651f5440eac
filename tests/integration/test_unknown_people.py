"""Every body naming people, departments, tags or groups is checked against the directory and the
configuration before anything is stored or sent: an unknown one answers 400 naming it."""

from __future__ import annotations

import pytest

CASES = [
    ("POST", "/tickets", {"type": "repair", "title": "x", "reporter": "ghost-1",
                          "fields": {"device_name": "a", "location": "b"}}, "ghost-1"),
    ("POST", "/approvals", {"type": "expense", "applicant": "ghost-2", "form": {"amount": 10, "reason": "x"}}, "ghost-2"),
    ("POST", "/approvals", {"type": "leave", "applicant": "zhangsan",
                            "form": {"leave_type": "personal", "start": "2026-03-10", "end": "2026-03-10", "days": 1,
                                     "reason": "x", "handover_to": ["ghost-3"]}}, "ghost-3"),
    ("POST", "/notices", {"title": "t", "content": "c", "sender": "lina", "touser": ["zhangsan", "ghost-4"]}, "ghost-4"),
    ("POST", "/notices", {"title": "t", "content": "c", "sender": "ghost-5", "touser": ["zhangsan"]}, "ghost-5"),
    ("POST", "/notices", {"title": "t", "content": "c", "sender": "lina", "toparty": [99999]}, "99999"),
    ("POST", "/notices", {"title": "t", "content": "c", "sender": "lina", "totag": ["不存在的标签"]}, "不存在的标签"),
    ("POST", "/tasks", {"title": "t", "owner": "ghost-6", "group": "service-desk", "source": "erp"}, "ghost-6"),
    ("POST", "/tasks", {"title": "t", "owner": "zhangsan", "group": "no-such-group", "source": "erp"}, "no-such-group"),
]


@pytest.mark.parametrize(("method", "path", "body", "name"), CASES, ids=[c[3] for c in CASES])
def test_given_an_unknown_name_in_a_body_then_400_naming_it_and_nothing_sent(local_app, method, path, body, name):
    sent_before = len(local_app.messages())
    status, answer = local_app.http(method, path, body)
    assert status == 400, (status, answer)
    assert name in answer["error"]["message"] or name in str(answer["error"].get("details")), answer
    assert len(local_app.messages()) == sent_before


def _ticket(local_app) -> dict:
    status, ticket = local_app.http("POST", "/tickets", {"type": "repair", "title": "x", "reporter": "chenjing",
                                                         "fields": {"device_name": "a", "location": "b"}})
    assert status == 201, ticket
    return ticket


def test_given_a_ticket_action_by_someone_unknown_then_403_and_the_ticket_unchanged(local_app):
    ticket = _ticket(local_app)
    status, answer = local_app.http("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "ghost-7"})
    assert status == 403, answer
    assert "ghost-7" in answer["error"]["message"]
    assert local_app.http("GET", f"/tickets/{ticket['id']}")[1]["status"] == "new"


def test_given_a_transfer_to_someone_unknown_then_400_naming_them(local_app):
    ticket = _ticket(local_app)
    local_app.http("POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})
    status, answer = local_app.http("POST", f"/tickets/{ticket['id']}/actions",
                                    {"action": "transfer", "by": "zhangsan", "to": {"assignee": "ghost-8"},
                                     "reason": "x"})
    assert status == 400 and "ghost-8" in answer["error"]["message"], answer
    assert local_app.http("GET", f"/tickets/{ticket['id']}")[1]["assignee"] == "zhangsan"


def test_given_a_daily_report_of_someone_unknown_then_400_naming_them_and_none_stored(local_app):
    status, answer = local_app.http("POST", "/reports", {"reports": [{"userid": "zhangsan", "date": "2026-03-02"},
                                                                     {"userid": "ghost-9", "date": "2026-03-02"}]})
    assert status == 400 and "ghost-9" in answer["error"]["message"], answer
    assert "zhangsan" not in answer["error"]["message"]


def test_given_a_task_done_by_someone_unknown_then_403_and_the_task_still_open(local_app):
    _, task = local_app.http("POST", "/tasks", {"title": "t", "owner": "zhangsan", "group": "service-desk",
                                                "source": "erp"})
    status, answer = local_app.http("POST", f"/tasks/{task['id']}/done", {"by": "ghost-10"})
    assert status == 403, answer
    assert local_app.http("GET", f"/tasks/{task['id']}")[1]["status"] == "open"
