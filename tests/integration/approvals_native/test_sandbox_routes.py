"""`make run`'s sandbox routes for native approvals: /_sandbox/approvals/{sp_no}/submitted|decide|withdraw."""

from __future__ import annotations

from tests.integration.approvals.helpers import get
from tests.integration.approvals_native.helpers import texts_with


def _client(app):
    from werkzeug.test import Client

    from local.server import LocalApp

    return Client(LocalApp(app.stack, app.sandbox, app.simulator))


def test_given_wecom_channel_approval_when_decided_through_the_sandbox_route_then_approved(app) -> None:
    client = _client(app)
    a = app.http("POST", "/approvals", {"type": "expense", "applicant": "zhangsan", "channel": "wecom",
                                        "form": {"amount": 800, "reason": "打车"}})[1]
    sp_no = get(app, a["id"])["sp_no"]

    assert client.post(f"/_sandbox/approvals/{sp_no}/submitted").status_code == 200
    wrong = client.post(f"/_sandbox/approvals/{sp_no}/decide", json={"userid": "zhaomin", "approve": True})
    ok = client.post(f"/_sandbox/approvals/{sp_no}/decide", json={"userid": "lina", "approve": True})
    app.stack.drain()

    assert wrong.status_code == 403 and ok.status_code == 200 and ok.get_json()["sp_status"] == 2
    assert get(app, a["id"])["status"] == "approved"
    assert texts_with(app, sp_no) == []  # no findings: no pre-check note


def test_given_bad_decide_body_or_unknown_sp_no_then_4xx(app) -> None:
    client = _client(app)

    assert client.post("/_sandbox/approvals/1/decide", json={"userid": "lina"}).status_code == 400
    assert client.post("/_sandbox/approvals/nope/decide", json={"userid": "lina", "approve": True}).status_code == 404
    assert client.post("/_sandbox/approvals/nope/submitted").status_code == 404


def test_given_wecom_channel_approval_when_withdrawn_through_the_sandbox_route_then_withdrawn(app) -> None:
    client = _client(app)
    a = app.http("POST", "/approvals", {"type": "expense", "applicant": "zhangsan", "channel": "wecom",
                                        "form": {"amount": 800, "reason": "打车"}})[1]
    sp_no = get(app, a["id"])["sp_no"]

    missing = client.post(f"/_sandbox/approvals/{sp_no}/withdraw", json={})
    wrong = client.post(f"/_sandbox/approvals/{sp_no}/withdraw", json={"userid": "lina"})
    ok = client.post(f"/_sandbox/approvals/{sp_no}/withdraw", json={"userid": "zhangsan"})
    again = client.post(f"/_sandbox/approvals/{sp_no}/withdraw", json={"userid": "zhangsan"})
    app.stack.drain()

    assert (missing.status_code, wrong.status_code, ok.status_code, again.status_code) == (400, 403, 200, 409)
    assert ok.get_json()["sp_status"] == 4
    assert get(app, a["id"])["status"] == "withdrawn"
