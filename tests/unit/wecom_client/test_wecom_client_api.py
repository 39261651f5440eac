"""Every WeComClient API against fixtures served by the fake WeCom (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.fixtures.wecom_api.router import AGENT_ID, load
from wecom_oa.errors import InvalidInput
from wecom_oa.wecom.client import ApprovalDetail
from wecom_oa.wecom.errors import ContentTooLarge


def test_given_first_call_when_sending_then_token_fetched_once_and_passed_as_query(client, router):
    client.send_text("你好", touser=["zhangsan"])
    client.send_text("再见", touser=["zhangsan"])

    assert router.count("gettoken") == 1
    sends = router.of("message/send")
    assert {c.params["access_token"] for c in sends} == {"fixture-access-token-5c2f-g1"}


def test_given_chinese_text_when_sent_then_body_is_raw_utf8_json(client, router):
    client.send_text("审批通过", touser=["zhangsan"])

    call = router.of("message/send")[0]
    assert "审批通过".encode() in call.raw
    assert b"\\u" not in call.raw
    assert call.body == {"touser": "zhangsan", "msgtype": "text", "agentid": AGENT_ID,
                         "text": {"content": "审批通过"}}


def test_given_send_options_then_flags_are_set(client, router):
    client.send_text("x", touser=["a"], toparty=[2], totag=[3], safe=True, duplicate_check=True,
                     enable_id_trans=True)

    body = router.bodies("message/send")[0]
    assert (body["toparty"], body["totag"], body["safe"], body["enable_duplicate_check"],
            body["enable_id_trans"]) == ("2", "3", 1, 1, 1)


def test_given_markdown_when_sent_then_msgtype_markdown_and_result_has_msgid(client, router):
    result = client.send_markdown("**加粗**\n> 引用", touser=["zhangsan"])

    assert router.bodies("message/send")[0]["markdown"] == {"content": "**加粗**\n> 引用"}
    assert result.msgids == [load("message_send.json")["msgid"]]


def test_given_textcard_when_sent_then_fields_passed_and_oversize_refused(client, router):
    client.send_textcard("标题", "<div class=\"gray\">说明</div>", "https://example.com/t/1", touser=["u"])
    assert router.bodies("message/send")[0]["textcard"]["url"] == "https://example.com/t/1"

    with pytest.raises(ContentTooLarge):
        client.send_textcard("长" * 43, "d", "https://example.com", touser=["u"])  # 129 bytes
    assert router.count("message/send") == 1


def test_given_template_card_when_sent_then_response_code_and_task_id_returned(client, router):
    card = {"card_type": "button_interaction", "task_id": "apv-1", "main_title": {"title": "t"},
            "button_list": [{"text": "同意", "key": "approve"}]}

    result = client.send_template_card(card, touser=["zhangsan"])

    assert result.response_code == load("message_send.json")["response_code"]
    assert result.task_ids == ["apv-1"]
    assert router.bodies("message/send")[0]["template_card"]["task_id"] == "apv-1"


def test_given_interactive_card_without_task_id_then_refused_before_any_call(client, router):
    with pytest.raises(InvalidInput):
        client.send_template_card({"card_type": "button_interaction"}, touser=["u"])
    with pytest.raises(InvalidInput):
        client.send_template_card({"card_type": "button_interaction", "task_id": "bad id!"}, touser=["u"])
    assert router.count("message/send") == 0


def test_given_partial_failure_then_invalid_lists_are_surfaced(client, router):
    router.script("message/send", load("message_send_partial.json"))

    result = client.send_text("x", touser=["a", "ghost1", "ghost2", "nolicense"], toparty=[99])

    assert result.invaliduser == ["ghost1", "ghost2"]
    assert result.invalidparty == ["99"]
    assert result.unlicenseduser == ["nolicense"]


def test_given_update_with_replace_name_then_button_body_sent(client, router):
    result = client.update_template_card("RC-1", userids=["zhangsan"], replace_name="已同意")

    body = router.bodies("message/update_template_card")[0]
    assert body == {"agentid": AGENT_ID, "response_code": "RC-1", "userids": ["zhangsan"],
                    "button": {"replace_name": "已同意"}}
    assert result.invaliduser == ["userid3"]


def test_given_update_with_whole_card_then_template_card_sent(client, router):
    client.update_template_card("RC-2", atall=True, card={"card_type": "button_interaction", "task_id": "t"})

    body = router.bodies("message/update_template_card")[0]
    assert body["atall"] == 1 and body["template_card"]["task_id"] == "t" and "button" not in body


def test_given_update_with_both_or_neither_or_too_many_then_refused(client, router):
    with pytest.raises(InvalidInput):
        client.update_template_card("RC", userids=["u"])
    with pytest.raises(InvalidInput):
        client.update_template_card("RC", userids=["u"], replace_name="x", card={})
    with pytest.raises(InvalidInput):
        client.update_template_card("RC", userids=[f"u{i}" for i in range(1001)], replace_name="x")
    assert router.count("message/update_template_card") == 0


def test_given_appchat_when_created_and_sent_then_chatid_round_trips(client, router):
    chatid = client.appchat_create("项目群", "zhangsan", ["zhangsan", "lisi", "lisi"])
    parts = client.appchat_send_text(chatid, "大家好")
    client.appchat_send_markdown(chatid, "**通知**")

    assert chatid == "CHATID10000"
    assert router.bodies("appchat/create")[0]["userlist"] == ["zhangsan", "lisi"]
    assert parts == 1
    assert [b["msgtype"] for b in router.bodies("appchat/send")] == ["text", "markdown"]
    assert router.bodies("appchat/send")[0]["chatid"] == "CHATID10000"


def test_given_appchat_with_one_member_or_bad_chatid_then_refused(client):
    with pytest.raises(InvalidInput):
        client.appchat_create("x", "a", ["a"])
    with pytest.raises(InvalidInput):
        client.appchat_create("x", "a", ["a", "b"], chatid="bad-chat-id")


def test_given_sp_no_when_detail_fetched_then_typed_model_keeps_all_fields(client, router):
    detail = client.oa_get_approval_detail("202601230001")

    assert isinstance(detail, ApprovalDetail)
    assert (detail.sp_no, detail.sp_status, detail.applyer["userid"]) == ("202601230001", 1, "zhangsan")
    assert detail.comments[0]["commentUserInfo"]["userid"] == "lisi"
    assert router.bodies("oa/getapprovaldetail") == [{"sp_no": "202601230001"}]


def test_given_apply_event_then_sp_no_returned(client, router):
    sp_no = client.oa_apply_event({"creator_userid": "zhangsan", "template_id": "T", "use_template_approver": 1,
                                   "apply_data": {"contents": []}})

    assert sp_no == "202601230001"
    assert router.bodies("oa/applyevent")[0]["creator_userid"] == "zhangsan"


def test_given_two_pages_when_listing_approvals_then_cursor_followed(client, router):
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 23, tzinfo=UTC)

    sp_nos = list(client.oa_get_approval_info(start, end, filters=[{"key": "sp_status", "value": "1"}]))

    assert sp_nos == ["202601230001", "202601230002", "202601230003"]
    bodies = router.bodies("oa/getapprovalinfo")
    assert [b["new_cursor"] for b in bodies] == ["", "cursor-page-2"]
    assert bodies[0]["starttime"] == int(start.timestamp()) and bodies[0]["filters"][0]["key"] == "sp_status"


def test_given_user_when_quota_fetched_then_leave_types_in_seconds(client, router):
    quotas = client.oa_get_user_vacation_quota("zhangsan")

    assert [(q.vacationname, q.leftduration) for q in quotas] == [("年假", 345600), ("调休假", 0)]
    assert router.bodies("oa/vacation/getuservacationquota") == [{"userid": "zhangsan"}]


def test_given_corp_when_vacation_config_fetched_then_hourly_types_count_their_own_day(client, router):
    annual, comp_time = client.oa_get_vacation_config()

    assert (annual.name, annual.time_attr, annual.seconds_per_day) == ("年假", 0, 86400)
    assert (comp_time.name, comp_time.time_attr, comp_time.seconds_per_day) == ("调休假", 1, 28800)
    assert router.count("oa/vacation/getcorpconf") == 1


def test_given_directory_calls_then_domain_models_returned(client, router):
    user = client.user_get("zhangsan")
    depts = client.department_list()
    dept = client.department_get(2)
    tag = client.tag_get(1)
    tags = client.tag_list()
    members = client.user_simplelist(2, fetch_child=True)

    assert (user.name, user.main_department, user.direct_leader) == ("张三", 2, ["lisi"])
    assert [(d.id, d.parentid, d.leaders) for d in depts] == [(1, None, ["boss"]), (2, 1, ["lisi"]), (3, 2, [])]
    assert dept.leaders == ["lisi", "zhaoliu"]
    assert (tag.tagname, tag.userids, tag.partyids) == ("财务", ["qianqi", "lisi"], [2])
    assert [t.tagname for t in tags] == ["财务", "总经理"]
    assert members == ["zhangsan", "lisi"]
    assert router.of("user/simplelist")[0].params["fetch_child"] == "1"
    assert router.of("user/get")[0].params["userid"] == "zhangsan"


def test_given_a_path_without_fixture_then_the_fake_fails_loudly(client, router):
    from tests.fixtures.wecom_api.router import MissingFixture

    with pytest.raises(MissingFixture, match="agent_get.json"):
        client._request("GET", "agent/get", params={"agentid": AGENT_ID})
    router.missing.clear()
