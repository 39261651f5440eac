"""parse_event on the decrypted samples in tests/events/wecom, and load_event round trips."""

from __future__ import annotations

import json

import pytest
from wechatpy.work import parse_message

from wecom_oa.errors import InvalidInput
from wecom_oa.wecom.events import (
    ChangeContactEvent,
    EnterAgentEvent,
    Message,
    SysApprovalChangeEvent,
    TemplateCardEvent,
    TextMessage,
    UnknownEvent,
    load_event,
)
from wecom_oa.wecom.parser import MalformedEvent, parse_event

KINDS = {
    "text": "text", "text_zh_emoji": "text", "image": "message", "enter_agent": "enter_agent",
    "approval_change_multi": "approval_change", "approval_change_unknown_statu": "approval_change",
    "card_click_button": "card_click", "card_click_option_ids": "card_click", "card_click_opiton_ids": "card_click",
    "contact_create_user": "contact_change", "contact_update_user": "contact_change",
    "contact_delete_user": "contact_change", "contact_create_party": "contact_change",
    "contact_update_tag": "contact_change", "unknown_event": "unknown",
}


def test_given_every_sample_when_parsed_then_expected_kind(event_xml, any_event_name: str) -> None:
    assert parse_event(event_xml(any_event_name)).kind == KINDS[any_event_name]


def test_given_every_sample_when_dumped_to_json_and_loaded_then_equal(event_xml, any_event_name: str) -> None:
    event = parse_event(event_xml(any_event_name))

    wire = json.loads(json.dumps(event.model_dump(mode="json")))
    back = load_event(wire)

    assert back == event
    assert type(back) is type(event)
    assert wire["idempotency_key"] == back.idempotency_key == event.idempotency_key


def test_given_bytes_input_when_parsed_then_same_as_text(event_xml) -> None:
    xml = event_xml("text_zh_emoji")

    assert parse_event(xml.encode()) == parse_event(xml)


# --- messages -----------------------------------------------------------------------------------------


def test_given_text_message_then_typed_fields_and_msg_key(event_xml) -> None:
    event = parse_event(event_xml("text"))

    assert isinstance(event, TextMessage)
    assert (event.from_user_name, event.content, event.create_time, event.agent_id) == (
        "zhangsan", "hello", 1718006400, 1000002,
    )
    assert event.msg_id == "7380000000000000001"
    assert event.idempotency_key == "msg:1000002:7380000000000000001"


def test_given_chinese_emoji_text_then_content_exact(event_xml) -> None:
    event = parse_event(event_xml("text_zh_emoji"))

    assert event.content == "请假申请：明天（6月11日）上午调休半天🙏，工单 #123 已转交给王五👍 <不是标签> & “引号”"


def test_given_image_message_then_generic_message_with_raw_fields(event_xml) -> None:
    event = parse_event(event_xml("image"))

    assert isinstance(event, Message)
    assert event.msg_type == "image"
    assert event.fields["PicUrl"] == "https://wework.qpic.cn/example.jpg"
    assert event.fields["MediaId"].startswith("1_F3DA")
    assert event.idempotency_key == "msg:1000002:7380000000000000003"


def test_given_enter_agent_then_event_key_by_user_and_time(event_xml) -> None:
    event = parse_event(event_xml("enter_agent"))

    assert isinstance(event, EnterAgentEvent)
    assert event.event_key == ""
    assert event.idempotency_key == "evt:zhangsan:enter_agent:1718006580"


# --- approvals ----------------------------------------------------------------------------------------


def test_given_approval_with_several_nodes_then_every_field_typed_and_listed(event_xml) -> None:
    event = parse_event(event_xml("approval_change_multi"))

    assert isinstance(event, SysApprovalChangeEvent)
    a = event.approval
    assert (a.sp_no, a.sp_name, a.sp_status, a.apply_time, a.statu_change_event) == (
        "202406100001", "费用报销", 2, 1718000000, 2,
    )
    assert a.template_id == "3TkaH5KFbrG9heEQWLJjhgpFwmqAFB4dLEnapaB7aaa"
    assert (a.applyer.user_id, a.applyer.party) == ("WuJunJie", "1")
    assert [(r.sp_status, r.approver_attr, len(r.details)) for r in a.sp_record] == [(2, 2, 2), (2, 1, 1)]
    first = a.sp_record[0].details[0]
    assert (first.approver_user_id, first.speech, first.sp_status, first.sp_time) == (
        "WangXiaoMing", "同意，发票齐全", 2, 1718005000,
    )
    assert first.attach == ["media_id_a1", "media_id_a2"]
    assert a.notifyer == ["ChengLiang", "ZhaoLiu"]
    assert [(c.user_id, c.comment_time, c.comment_id) for c in a.comments] == [
        ("LiuZhi", 1718003000, "6750538708562308220"), ("WuJunJie", 1718004000, "6750538708562308221"),
    ]
    assert a.comments[1].comment_content == "已补充 👌" and a.comments[1].attach == ["media_id_c1"]
    assert a.process_list is not None
    assert [(n.node_type, n.sp_status, n.apv_rel, len(n.sub_nodes)) for n in a.process_list] == [
        (1, 2, 2, 2), (1, 2, 1, 1),
    ]
    assert a.process_list[0].sub_nodes[0].media_ids == ["media_id_a1", "media_id_a2"]
    assert a.process_list[1].sub_nodes[0].sp_time == 1718009999
    assert event.is_final and event.approved
    assert event.idempotency_key == "apv:202406100001:2:2:1718010000"


def test_given_unknown_statu_change_event_then_kept_as_int_and_not_final(event_xml) -> None:
    event = parse_event(event_xml("approval_change_unknown_statu"))

    assert event.approval.statu_change_event == 42
    assert event.approval.process_list is None
    assert event.approval.comments == [] and event.approval.notifyer == []
    assert event.approval.sp_record[0].details[0].sp_time == 0
    assert not event.is_final and not event.approved


@pytest.mark.parametrize(
    "sp_status,statu_change,final,approved",
    [(1, 2, False, False), (2, 2, True, True), (3, 3, True, False), (4, 6, True, False), (6, 8, True, False),
     (7, 1, True, False), (10, 1, False, False)],
)
def test_given_status_pairs_then_final_only_on_form_status(event_xml, sp_status, statu_change, final, approved):
    xml = (
        event_xml("approval_change_unknown_statu")
        .replace("<SpStatus>1</SpStatus>\n        <TemplateId>", f"<SpStatus>{sp_status}</SpStatus>\n        <TemplateId>")
        .replace("<StatuChangeEvent>42<", f"<StatuChangeEvent>{statu_change}<")
    )

    event = parse_event(xml)

    assert event.approval.sp_status == sp_status
    assert (event.is_final, event.approved) == (final, approved)


def test_given_sp_no_str_without_sp_no_then_sp_no_taken_from_it(event_xml) -> None:
    xml = event_xml("approval_change_unknown_statu").replace(
        "<SpNo>202406100002</SpNo>", "<SpNoStr><![CDATA[202406100002]]></SpNoStr>"
    )

    assert parse_event(xml).approval.sp_no == "202406100002"


def test_given_same_form_two_changes_same_second_then_distinct_keys(event_xml) -> None:
    base = event_xml("approval_change_unknown_statu")

    a = parse_event(base)
    b = parse_event(base.replace("<SpNo>202406100002<", "<SpNo>202406100003<"))

    assert a.from_user_name == b.from_user_name == "sys" and a.create_time == b.create_time
    assert a.idempotency_key != b.idempotency_key


def test_given_approval_sample_then_wechatpy_agrees_on_core_fields(event_xml) -> None:
    xml = event_xml("approval_change_multi")
    ours = parse_event(xml)

    theirs = parse_message(xml)

    assert str(theirs.sp_no) == ours.approval.sp_no
    assert int(theirs.sp_status) == ours.approval.sp_status
    assert int(theirs.statu_change_event) == ours.approval.statu_change_event


# --- card clicks --------------------------------------------------------------------------------------


def test_given_button_click_then_card_fields_and_key(event_xml) -> None:
    event = parse_event(event_xml("card_click_button"))

    assert isinstance(event, TemplateCardEvent)
    assert (event.event_key, event.task_id, event.card_type) == ("approve", "apv-202406100001-s1", "button_interaction")
    assert event.selected_items == []
    assert event.idempotency_key == (
        "card:WangXiaoMing:apv-202406100001-s1:gRYnGxLzyl_TThcGMtbGv5mz6YxFiGIeGEs_hJYM4Lg"
    )


def test_given_option_ids_spelling_then_selections_listed(event_xml) -> None:
    event = parse_event(event_xml("card_click_option_ids"))

    assert [(s.question_key, s.option_ids) for s in event.selected_items] == [
        ("lunch", ["noodles"]), ("drinks", ["tea", "coffee"]),
    ]


def test_given_opiton_ids_spelling_then_same_shape(event_xml) -> None:
    event = parse_event(event_xml("card_click_opiton_ids"))

    assert [(s.question_key, s.option_ids) for s in event.selected_items] == [("venue", ["hall_a", "hall_b"])]


# --- contact changes ----------------------------------------------------------------------------------


def test_given_create_user_then_user_fields_typed(event_xml) -> None:
    event = parse_event(event_xml("contact_create_user"))

    assert isinstance(event, ChangeContactEvent)
    assert (event.change_type, event.user_id, event.name) == ("create_user", "zhangsan", "张三")
    assert (event.department, event.main_department, event.is_leader_in_dept) == ([1, 2, 3], 1, [1, 0, 0])
    assert event.direct_leader == ["lisi", "wangwu"]
    assert (event.gender, event.status, event.biz_mail) == (1, 1, "zhangsan@corp.example.com")
    assert [i["Name"] for i in event.fields["ExtAttr"]["Item"]] == ["爱好", "卡号"]
    assert event.idempotency_key == "contact:create_user:zhangsan:1718040000"


def test_given_update_user_with_rename_then_new_user_id(event_xml) -> None:
    event = parse_event(event_xml("contact_update_user"))

    assert (event.user_id, event.new_user_id, event.department, event.name) == ("zhangsan", "zhangsan001", [2], None)
    assert event.idempotency_key == "contact:update_user:zhangsan:1718040100"


def test_given_delete_user_then_only_user_id(event_xml) -> None:
    event = parse_event(event_xml("contact_delete_user"))

    assert (event.change_type, event.user_id, event.department) == ("delete_user", "zhangsan001", [])


def test_given_create_party_then_party_fields(event_xml) -> None:
    event = parse_event(event_xml("contact_create_party"))

    assert (event.id, event.name, event.parent_id, event.order) == (7, "华南销售部", 1, 100)
    assert event.idempotency_key == "contact:create_party:7:1718040300"


def test_given_update_tag_then_tag_items(event_xml) -> None:
    event = parse_event(event_xml("contact_update_tag"))

    assert (event.tag_id, event.add_user_items, event.del_user_items) == (3, ["zhangsan", "lisi"], ["wangwu"])
    assert (event.add_party_items, event.del_party_items) == ([1, 2], [4])
    assert event.idempotency_key == "contact:update_tag:3:1718040400"


# --- unknown ------------------------------------------------------------------------------------------


def test_given_unknown_event_then_raw_fields_kept_with_lists(event_xml) -> None:
    event = parse_event(event_xml("unknown_event"))

    assert isinstance(event, UnknownEvent)
    assert event.event == "open_approval_change"
    nodes = event.fields["ApprovalInfo"]["ApprovalNodes"]["ApprovalNode"]
    assert [n["NodeStatus"] for n in nodes] == ["1", "2"]
    assert event.idempotency_key == "evt:zhangsan:open_approval_change:1718050000"


def test_given_unknown_msg_type_then_unknown_event(event_xml) -> None:
    event = parse_event(event_xml("text").replace("[CDATA[text]]", "[CDATA[hologram]]"))

    assert (event.kind, event.msg_type, event.event) == ("unknown", "hologram", None)


# --- malformed plaintext ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutation,named",
    [
        (("<MsgType><![CDATA[text]]></MsgType>", ""), "MsgType"),
        (("<CreateTime>1718006400</CreateTime>", "<CreateTime>soon</CreateTime>"), "create_time"),
        (("<MsgId>7380000000000000001</MsgId>", ""), "msg_id"),
        (("<FromUserName><![CDATA[zhangsan]]></FromUserName>", ""), "from_user_name"),
        (("<xml>", "<xml><!DOCTYPE x>"), "XML"),
        (("</xml>", ""), "XML"),
    ],
)
def test_given_malformed_text_message_then_invalid_input_naming_it(event_xml, mutation, named: str) -> None:
    with pytest.raises(MalformedEvent) as info:
        parse_event(event_xml("text").replace(*mutation))

    assert isinstance(info.value, InvalidInput) and info.value.status == 400
    assert named in info.value.message


def test_given_approval_without_approval_info_then_named(event_xml) -> None:
    xml = event_xml("enter_agent").replace("enter_agent", "sys_approval_change")

    with pytest.raises(MalformedEvent, match="ApprovalInfo"):
        parse_event(xml)


def test_given_non_numeric_sp_status_then_field_path_named(event_xml) -> None:
    xml = event_xml("approval_change_unknown_statu").replace("<StatuChangeEvent>42<", "<StatuChangeEvent>x<")

    with pytest.raises(MalformedEvent, match="approval.statu_change_event"):
        parse_event(xml)


def test_given_dtd_in_plaintext_then_refused(event_xml) -> None:
    xml = '<!DOCTYPE xml [<!ENTITY e "boom">]>' + event_xml("text").replace("hello", "&e;")

    with pytest.raises(MalformedEvent, match="DTD"):
        parse_event(xml)


def test_given_deeply_nested_unknown_payload_then_malformed_not_recursion_error(event_xml) -> None:
    deep = "<a>" * 5000 + "</a>" * 5000
    xml = event_xml("unknown_event").replace("<ApprovalInfo>", f"<ApprovalInfo>{deep}")

    with pytest.raises(MalformedEvent, match="nested"):
        parse_event(xml)


@pytest.mark.parametrize("data", [{}, {"kind": "text"}, {"kind": "nope", "msg_type": "text"}, {"kind": "card_click"}])
def test_given_bad_dump_when_loaded_then_invalid_input(data: dict) -> None:
    with pytest.raises(InvalidInput):
        load_event(data)
