"""A click on a stage card by someone who is not an approver of that stage changes nothing.

`cards.on_click` already drops clicks from people the card was not sent to; this is the second
line, in `approvals.on_card_click`: the stage's own approver list decides, whatever the card's
recipient list says (a card record widened by a bug, a forwarded card)."""

from __future__ import annotations

from tests.integration.approvals.helpers import card_for, execution_status, final, get, submit

OUTSIDER = "chenjing"  # in the demo directory, not an approver of the expense stage


def _click_xml(userid: str, task_id: str, key: str, response_code: str) -> str:
    """The template_card_event WeCom sends for a button click (as CallbackSimulator.click builds it)."""
    from wecom_oa.clock import get_clock
    from wecom_oa.wiring import wecom_credentials

    creds = wecom_credentials()
    return (f"<xml><ToUserName><![CDATA[{creds.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{userid}]]></FromUserName>"
            f"<CreateTime>{int(get_clock().now().timestamp())}</CreateTime>"
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
            f"<EventKey><![CDATA[{key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
            "<CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode>"
            f"<AgentID>{creds.agent_id}</AgentID></xml>")


def test_given_a_non_approver_on_the_cards_recipients_when_they_click_approve_then_the_stage_stays_open(app) -> None:
    from wecom_oa.aws.dynamo import Keys, app_table

    # Given an expense whose single stage (lina) is waiting on its card
    a = submit(app, "expense", "zhangsan", {"amount": 800, "reason": "打车", "invoice_no": "INV-77"})
    card = card_for(app, a["id"], "lina")
    stage = get(app, a["id"])["stages"][0]
    assert stage["round_approvers"] == ["lina"] and stage["status"] == "open"
    # and a card record that (wrongly) lets an outsider past the recipient check
    app_table().update(Keys.card_task(card["task_id"]), set_fields={"recipients": ["lina", OUTSIDER]})

    # When the outsider clicks approve (an encrypted callback through the simulator, like WeCom's)
    result = app.simulator.post_event(_click_xml(OUTSIDER, card["task_id"], "approve", "code-outsider-1"))
    assert result["status"] == 200, result
    app.stack.drain()

    # Then nothing was decided: the stage is open, no decision recorded, the approval pending
    body = get(app, a["id"])
    assert body["status"] == "pending"
    assert body["stages"][0]["status"] == "open" and body["stages"][0]["decisions"] == []
    assert execution_status(app, a["id"]) == "RUNNING"
    assert not [m for m in app.messages() if m["api"] == "message/update_template_card"]

    # And when lina, the approver, approves, the approval completes with her decision only
    app.click("lina", card["task_id"], "approve")
    done = final(app, a["id"])
    assert done["status"] == "approved" and done["decided_by"] == "lina"
    assert [d["userid"] for d in done["stages"][0]["decisions"]] == ["lina"]
