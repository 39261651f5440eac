"""Upstream/downstream (上下游) in the sandbox: the shared app's corps (list_app_share_info), a
downstream corp's token (corpgroup/corp/gettoken with the upstream token), and message/send in
that corp reaching only its members, recorded as `corpid:userid`."""

from __future__ import annotations

import json

import pytest

from local.sandbox.directory import load_sandbox_directory
from local.sandbox.wecom_api import WeComSandbox
from tests.unit.sandbox.conftest import AGENT_ID, CORP_ID, SECRET, START, Api
from wecom_oa.clock import ManualClock


@pytest.fixture
def chain() -> Api:
    sandbox = WeComSandbox.from_company(load_sandbox_directory(), CORP_ID, SECRET, AGENT_ID, ManualClock(START))
    return Api(sandbox)


def _downstream_token(api: Api, corp: str = "wwpartner0001", agentid: int = 2000001) -> dict:
    return api.post("corpgroup/corp/gettoken", {"corpid": corp, "agentid": agentid, "business_type": 1})


def test_given_the_demo_chain_then_the_shared_corps_are_listed_with_their_agentids(chain) -> None:
    body = chain.post("corpgroup/corp/list_app_share_info", {"agentid": AGENT_ID, "business_type": 1})
    assert body["errcode"] == 0 and body["ending"] == 1
    assert {c["corpid"]: c["agentid"] for c in body["corp_list"]} == {"wwpartner0001": 2000001, "wwpartner0002": 2000002}
    assert chain.post("corpgroup/corp/list_app_share_info", {"agentid": AGENT_ID})["corp_list"] == [], \
        "business_type 0 is 企业互联, not the chain"


def test_given_a_downstream_token_then_message_send_reaches_only_that_corps_members(chain) -> None:
    token = _downstream_token(chain)["access_token"]
    body = chain.post("message/send", {"agentid": 2000001, "msgtype": "text", "text": {"content": "到货提醒"},
                                       "touser": "wangchang|zhaolaoban|nobody"}, access_token=token)
    assert body["errcode"] == 0 and body["invaliduser"] == "zhaolaoban|nobody"
    message = chain.sandbox.messages()[-1]
    assert message["corp"] == "wwpartner0001"
    assert message["recipients"]["userids"] == ["wwpartner0001:wangchang"]


def test_given_a_downstream_token_with_the_upstream_agentid_then_40056(chain) -> None:
    token = _downstream_token(chain)["access_token"]
    body = chain.post("message/send", {"agentid": AGENT_ID, "msgtype": "text", "text": {"content": "x"},
                                       "touser": "wangchang"}, access_token=token)
    assert body["errcode"] == 40056


@pytest.mark.parametrize("corp, agentid, errcode", [("wwunknown", 2000001, 40013), ("wwpartner0001", 9, 40056)])
def test_given_a_corp_or_agent_the_chain_lacks_then_gettoken_refuses(chain, corp, agentid, errcode) -> None:
    assert _downstream_token(chain, corp, agentid)["errcode"] == errcode


def test_given_a_downstream_token_then_other_apis_say_the_sandbox_lacks_them(chain) -> None:
    token = _downstream_token(chain)["access_token"]
    status, body = chain.sandbox.handle("GET", "user/get", {"access_token": token, "userid": "wangchang"}, b"")
    assert status == 501 and "downstream" in body["errmsg"]


def test_given_a_partner_members_click_then_a_response_code_is_issued_for_them_only(chain) -> None:
    token = _downstream_token(chain)["access_token"]
    card = {"card_type": "button_interaction", "task_id": "t-partner-1", "main_title": {"title": "来料异常"},
            "button_list": [{"text": "认领", "key": "alert_ack"}]}
    chain.post("message/send", {"agentid": 2000001, "msgtype": "template_card", "template_card": card,
                                "touser": "wangchang"}, access_token=token)
    assert chain.sandbox.issue_click_response_code("t-partner-1", "wwpartner0001:wangchang", "alert_ack")
    with pytest.raises(Exception, match="did not receive"):
        chain.sandbox.issue_click_response_code("t-partner-1", "wwpartner0001:lizhi", "alert_ack")
    assert chain.sandbox.has_member("wwpartner0001:lizhi") and not chain.sandbox.has_member("wwpartner0001:ghost")
    assert chain.sandbox.member_name("wwpartner0001:wangchang") == "王厂长（华丰代工厂）"
    assert json.dumps(chain.sandbox.messages()[-1]["recipients"]) == json.dumps(
        {"touser": ["wwpartner0001:wangchang"], "toparty": [], "totag": [], "userids": ["wwpartner0001:wangchang"],
         "all": False})
