"""Chat intake end to end on the local app: an encrypted WeCom text message → callback → queue →
worker → a ticket for the sender, who is told its id. Keywords come from ticket_types.yaml."""

from __future__ import annotations

from datetime import datetime

import pytest

from wecom_oa.clock import VirtualClock, set_clock


def _text_xml(sender: str, content: str, msg_id: str) -> str:
    from local.sandbox.callbacks import text_message_xml
    from wecom_oa.clock import get_clock
    from wecom_oa.wiring import wecom_credentials

    creds = wecom_credentials()
    return text_message_xml(sender, content, msg_id=msg_id, corp_id=creds.corp_id, agent_id=creds.agent_id,
                            create_time=int(get_clock().now().timestamp()))


def _deliver(app, xml: str) -> None:
    result = app.simulator.post_event(xml)
    assert result["status"] == 200, result
    app.stack.drain()


def _tickets_of(app, reporter: str) -> list[dict]:
    found = []
    for team in ("tech_support", "customer_service", "finance", "field_service"):
        status, body = app.http("GET", "/tickets", query=f"team={team}")
        assert status == 200, body
        found += [t for t in body["tickets"] if t["reporter"] == reporter]
    return found


def _texts_to(app, userid: str) -> list[str]:
    return [m.get("content") or "" for m in app.messages()
            if m["msgtype"] == "text" and userid in m["recipients"]["userids"]]


@pytest.fixture
def app(local_app):
    set_clock(VirtualClock(datetime.fromisoformat("2026-11-23T10:00:00+08:00"), scale=1.0))
    yield local_app
    set_clock(None)


def test_given_a_repair_keyword_message_when_delivered_then_a_repair_ticket_opens_for_the_sender(app) -> None:
    # When chenjing sends "报修 …" to the app
    _deliver(app, _text_xml("chenjing", "报修 二号厂房注塑机温控失灵", "7380000000000100001"))

    # Then one repair ticket exists, reported by her, titled from the message, from chat
    (ticket,) = _tickets_of(app, "chenjing")
    status, detail = app.http("GET", f"/tickets/{ticket['id']}")
    assert status == 200, detail
    assert (detail["type"], detail["title"], detail["source"]) == ("repair", "二号厂房注塑机温控失灵", "chat")
    assert detail["fields"]["fault_description"] == "二号厂房注塑机温控失灵"
    assert detail["team"] == "tech_support" and detail["sla"]["first_response"]["deadline"]
    # And she is told the ticket's id; the dispatcher got the accept card as for any new ticket
    assert any(ticket["id"] in text and "二号厂房注塑机温控失灵" in text for text in _texts_to(app, "chenjing"))
    assert any(m.get("task_id") and m["card"]["main_title"]["title"] == "二号厂房注塑机温控失灵"
               and m["recipients"]["userids"] == ["zhangsan"] for m in app.messages())


def test_given_a_complaint_keyword_then_a_complaint_ticket_opens_with_the_text_as_its_description(app) -> None:
    _deliver(app, _text_xml("chenjing", "投诉：快递外箱破损", "7380000000000100002"))

    (ticket,) = _tickets_of(app, "chenjing")
    assert (ticket["type"], ticket["title"], ticket["fields"]["description"]) == ("complaint", "快递外箱破损", "快递外箱破损")


def test_given_a_message_without_a_keyword_then_nothing_opens_and_nobody_is_messaged(app) -> None:
    _deliver(app, _text_xml("chenjing", "请问二号厂房今天开工吗", "7380000000000100003"))
    _deliver(app, _text_xml("chenjing", "我要报修", "7380000000000100004"))  # keyword not at the start

    assert _tickets_of(app, "chenjing") == []
    assert app.messages() == []


def test_given_the_same_message_delivered_twice_then_one_ticket_and_one_reply(app) -> None:
    xml = _text_xml("chenjing", "报修 空压机漏气", "7380000000000100005")

    # When WeCom retries the callback, and the queue redelivers the message to the worker
    _deliver(app, xml)
    _deliver(app, xml)
    from wecom_oa.aws.dynamo import Keys, app_table
    from wecom_oa.worker import process_message

    stored = app_table().get(Keys.callback_event(f"msg:{app.stack.env['WECOM_AGENT_ID']}:7380000000000100005"))
    assert stored is not None, "the callback stores the event under its idempotency key"
    process_message({"key": stored["pk"].removeprefix("EVENT#"), "kind": stored["kind"], "event": stored["event"]})

    # Then one ticket, and one confirmation
    (ticket,) = _tickets_of(app, "chenjing")
    assert len([t for t in _texts_to(app, "chenjing") if ticket["id"] in t]) == 1


def test_given_the_sandbox_chat_route_when_a_member_writes_baoxiu_then_a_ticket_is_opened(app) -> None:
    from werkzeug.test import Client

    from local.server import LocalApp

    client = Client(LocalApp(app.stack, app.sandbox, app.simulator))
    bad = client.post("/_sandbox/chat", json={"userid": "chenjing"})
    ok = client.post("/_sandbox/chat", json={"userid": "chenjing", "text": "报修 三号线传送带异响"})
    app.stack.drain()

    assert bad.status_code == 400 and "text" in bad.get_json()["error"]["message"]
    assert ok.status_code == 200 and ok.get_json()["status"] == 200
    [ticket] = _tickets_of(app, "chenjing")
    assert ticket["type"] == "repair" and "三号线传送带异响" in ticket["title"]
