"""The ticket HTTP API through the local stack (API handler in-process, moto, WeCom sandbox):
listing by team and status, the detail view, and bad input refused with the reason named and
nothing written, sent or started."""

from __future__ import annotations

from datetime import datetime

import pytest

from wecom_oa.clock import VirtualClock, set_clock

REPAIR = {"type": "repair", "title": "空调外机异响", "reporter": "chenjing", "priority": "P3",
          "fields": {"device_name": "空调外机", "location": "办公楼顶"}}
COMPLAINT = {"type": "complaint", "title": "安装人员迟到", "reporter": "chenjing",
             "fields": {"severity": "minor", "description": "约定九点，十一点才到"}}


@pytest.fixture
def api(local_app):
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-24T10:00:00+08:00"), scale=1.0))
    return local_app


def _ok(app, method: str, path: str, body=None, query: str = "", status: int = 200) -> dict:
    code, out = app.http(method, path, body, query=query)
    assert code == status, out
    return out


def _footprint(app) -> tuple[int, int, int]:
    """Everything a request could leave behind: stored items, sent messages, timer executions."""
    from wecom_oa.aws.dynamo import app_table

    ddb = app.stack.client("dynamodb")
    items = ddb.scan(TableName=app_table().name, Select="COUNT")["Count"]
    sfn = app.stack.client("stepfunctions")
    arn = app.stack.physical["TicketEscalationStateMachine"]["Arn"]
    return items, len(app.messages()), len(sfn.list_executions(stateMachineArn=arn)["executions"])


def _ids(listing: dict) -> set[str]:
    return {t["id"] for t in listing["tickets"]}


def test_given_tickets_of_two_teams_when_listed_by_team_and_status_then_only_matching_open_tickets(api) -> None:
    # Given two repairs (tech_support), one of them accepted, and a complaint (customer_service)
    waiting = _ok(api, "POST", "/tickets", REPAIR, status=201)
    taken = _ok(api, "POST", "/tickets", {**REPAIR, "title": "电梯按钮失灵"}, status=201)
    complaint = _ok(api, "POST", "/tickets", COMPLAINT, status=201)
    _ok(api, "POST", f"/tickets/{taken['id']}/actions", {"action": "accept", "by": "zhangsan"})
    # When listed by team, and by team and status
    team = _ok(api, "GET", "/tickets", query="team=tech_support")
    new = _ok(api, "GET", "/tickets", query="team=tech_support&status=new")
    both = _ok(api, "GET", "/tickets", query="team=tech_support&status=new,in_progress")
    service = _ok(api, "GET", "/tickets", query="team=customer_service&status=new")
    # Then each listing holds exactly the tickets of that team in those statuses
    assert _ids(team) == _ids(both) == {waiting["id"], taken["id"]}
    assert _ids(new) == {waiting["id"]}
    assert _ids(service) == {complaint["id"]}
    assert {t["status"] for t in team["tickets"]} == {"new", "in_progress"}


@pytest.mark.parametrize(("query", "field"), [("", "team"), ("team=tech_support&status=closed", "status"),
                                              ("team=tech_support&status=open", "status")])
def test_given_a_bad_listing_query_then_400_naming_the_parameter(api, query: str, field: str) -> None:
    status, body = api.http("GET", "/tickets", query=query)
    assert (status, body["error"]["code"]) == (400, "invalid_input"), body
    assert field in f"{body['error']['message']} {body['error'].get('details')}", body


def test_given_an_accepted_ticket_when_viewed_then_history_and_dwell_per_status_are_included(api) -> None:
    ticket = _ok(api, "POST", "/tickets", REPAIR, status=201)
    _ok(api, "POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})
    view = _ok(api, "GET", f"/tickets/{ticket['id']}")
    assert [(e["seq"], e["action"], e["status"]) for e in view["history"]] == [(1, "create", "new"),
                                                                           (2, "accept", "in_progress")]
    assert set(view["dwell"]["by_status"]) == {"new", "in_progress"}
    assert set(view["dwell"]["by_team"]) == {"tech_support"}
    # business time is measured on the team's calendar (a Tuesday morning: all of it counts)
    assert view["dwell"]["by_status"]["new"]["business"] == view["dwell"]["by_status"]["new"]["wall"]


def _closed_ticket(app) -> dict:
    ticket = _ok(app, "POST", "/tickets", REPAIR, status=201)
    return _ok(app, "POST", f"/tickets/{ticket['id']}/actions",
               {"action": "close", "by": "zhangsan", "reason": "重复报修"})


def _open_ticket(app) -> dict:
    ticket = _ok(app, "POST", "/tickets", REPAIR, status=201)
    return _ok(app, "POST", f"/tickets/{ticket['id']}/actions", {"action": "accept", "by": "zhangsan"})


# (name, prepare the ticket or None, request path, body, expected status, code, what the reply must name)
BAD_REQUESTS = [
    ("unknown type", None, "/tickets", {**REPAIR, "type": "plumbing"}, 400, "invalid_input", "type"),
    ("missing required field", None, "/tickets",
     {**REPAIR, "fields": {"device_name": "空调外机"}}, 400, "invalid_input", "location"),
    ("missing title", None, "/tickets", {k: v for k, v in REPAIR.items() if k != "title"}, 400, "invalid_input",
     "title"),
    ("resolve a closed ticket", _closed_ticket, "/tickets/{id}/actions",
     {"action": "resolve", "by": "zhangsan", "fields": {"repair_cost": 10}}, 409, "illegal_transition", "closed"),
    ("stale version", _open_ticket, "/tickets/{id}/actions",
     {"action": "comment", "by": "zhangsan", "comment": "已到现场", "version": 1}, 409, "stale_version", "version"),
    ("unknown action", _open_ticket, "/tickets/{id}/actions", {"action": "fly", "by": "zhangsan"}, 400,
     "invalid_input", "action"),
]


@pytest.mark.parametrize(("name", "prepare", "path", "body", "status", "code", "names"), BAD_REQUESTS,
                         ids=[b[0] for b in BAD_REQUESTS])
def test_given_bad_input_then_4xx_naming_the_reason_and_nothing_is_written(
    api, name, prepare, path, body, status, code, names
) -> None:
    # Given (for actions) a ticket in the state the case needs
    ticket = prepare(api) if prepare else None
    target = path.format(id=ticket["id"]) if ticket else path
    before = _footprint(api)
    # When the bad request arrives
    got, out = api.http("POST", target, body)
    reply = out["error"]
    # Then it is refused with a code and the reason named, and nothing was stored, sent or started
    assert (got, reply["code"]) == (status, code), reply
    assert names in f"{reply['message']} {reply.get('details')}", reply
    assert _footprint(api) == before
    if ticket:
        assert _ok(api, "GET", f"/tickets/{ticket['id']}")["version"] == ticket["version"]
