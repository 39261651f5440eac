"""App group chats (appchat/*) and group robots (webhook/send)."""

from __future__ import annotations

import pytest

PROJECT_KEY, FACTORY_KEY = "robot-key-project-0001", "robot-key-factory-0002"


def _robot(api, body, key=PROJECT_KEY):
    return api.post("webhook/send", body, key=key, access_token=None)


def test_given_members_when_creating_chat_then_get_returns_it(api):
    created = api.post("appchat/create", {"name": "项目群", "owner": "lead", "userlist": ["lead", "dev1", "dev2"],
                                          "chatid": "proj01"})

    assert created == {"errcode": 0, "errmsg": "ok", "chatid": "proj01"}
    info = api.get("appchat/get", chatid="proj01")["chat_info"]
    assert info == {"chatid": "proj01", "name": "项目群", "owner": "lead", "userlist": ["lead", "dev1", "dev2"],
                    "chat_type": 0}


def test_given_no_chatid_when_creating_then_one_is_generated_in_wecom_charset(api):
    chatid = api.post("appchat/create", {"userlist": ["dev1", "dev2"]})["chatid"]

    assert chatid.isalnum() and len(chatid) <= 32
    assert api.get("appchat/get", chatid=chatid)["chat_info"]["owner"] == "dev1"


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"userlist": ["dev1"]}, 40058),
        ({"userlist": ["dev1", "ghost"]}, 86216),
        ({"userlist": ["dev1", "gone"]}, 86216),
        ({"userlist": ["dev1", "dev2"], "owner": "ghost"}, 86216),
        ({"userlist": ["dev1", "dev2"], "chatid": "bad_id"}, 86001),
        ({"userlist": ["dev1", "dev2"], "name": "长" * 51}, 40058),
    ],
)
def test_given_invalid_chat_when_creating_then_rejected(api, body, errcode):
    assert api.post("appchat/create", body)["errcode"] == errcode


def test_given_existing_chatid_when_creating_again_then_86215(api):
    api.post("appchat/create", {"userlist": ["dev1", "dev2"], "chatid": "dup"})

    assert api.post("appchat/create", {"userlist": ["dev1", "boss"], "chatid": "dup"})["errcode"] == 86215


def test_given_chat_when_sending_then_recorded_with_chatid_and_members(api):
    api.post("appchat/create", {"userlist": ["dev1", "dev2"], "chatid": "proj01"})

    body = api.post("appchat/send", {"chatid": "proj01", "msgtype": "markdown", "markdown": {"content": "**今日风险**"}})

    assert body == {"errcode": 0, "errmsg": "ok"}
    message = api.sandbox.messages()[-1]
    assert (message["api"], message["chatid"], message["content"]) == ("appchat/send", "proj01", "**今日风险**")
    assert message["recipients"]["userids"] == ["dev1", "dev2"]


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"chatid": "missing1", "msgtype": "text", "text": {"content": "x"}}, 86003),
        ({"chatid": "bad id", "msgtype": "text", "text": {"content": "x"}}, 86001),
        ({"chatid": "proj01", "msgtype": "template_card", "template_card": {}}, 40008),
        ({"chatid": "proj01", "msgtype": "text", "text": {"content": "长" * 683}}, 45002),
    ],
)
def test_given_bad_chat_message_when_sending_then_rejected(api, body, errcode):
    api.post("appchat/create", {"userlist": ["dev1", "dev2"], "chatid": "proj01"})

    assert api.post("appchat/send", body)["errcode"] == errcode


def test_given_unknown_chat_when_getting_then_86003(api):
    assert api.get("appchat/get", chatid="nochat")["errcode"] == 86003


def test_given_known_robot_when_sending_text_then_recorded_under_robot_name_without_token(api):
    body = _robot(api, {"msgtype": "text", "text": {"content": "进度落后", "mentioned_list": ["xuming", "dev1"]}})

    assert body == {"errcode": 0, "errmsg": "ok"}
    message = api.sandbox.messages()[-1]
    assert (message["api"], message["robot"], message["content"]) == ("webhook/send", "project-group", "进度落后")
    assert message["recipients"]["userids"] == ["dev1"]  # mentions of unknown people are not recipients


def test_given_unknown_key_when_sending_then_93000(api):
    assert _robot(api, {"msgtype": "text", "text": {"content": "x"}}, key="removed")["errcode"] == 93000
    assert _robot(api, {"msgtype": "text", "text": {"content": "x"}}, key=None)["errcode"] == 93000


def test_given_20_messages_in_a_minute_when_sending_21st_then_45009_until_window_moves(api, clock):
    text = {"msgtype": "text", "text": {"content": "x"}}
    for _ in range(20):
        assert _robot(api, text)["errcode"] == 0
        clock.advance(1)

    assert _robot(api, text)["errcode"] == 45009
    assert _robot(api, text, key=FACTORY_KEY)["errcode"] == 0  # the limit is per robot
    clock.advance(40)  # t=60 s: only the first message (t=0) has left the window
    assert _robot(api, text)["errcode"] == 0
    assert _robot(api, text)["errcode"] == 45009


@pytest.mark.parametrize(("msgtype", "limit"), [("text", 2048), ("markdown", 4096), ("markdown_v2", 4096)])
def test_given_robot_content_over_limit_when_sending_then_45002_and_at_limit_accepted(api, msgtype, limit):
    assert _robot(api, {"msgtype": msgtype, msgtype: {"content": "a" * limit}})["errcode"] == 0
    assert _robot(api, {"msgtype": msgtype, msgtype: {"content": "a" * (limit + 1)}})["errcode"] == 45002


def test_given_markdown_mentions_when_sending_then_mentioned_users_recorded(api):
    _robot(api, {"msgtype": "markdown", "markdown": {"content": "<@dev2> 请处理 <font color=\"warning\">逾期</font>"}})

    assert api.sandbox.messages()[-1]["recipients"]["userids"] == ["dev2"]


def test_given_robot_notice_card_when_sending_then_accepted_but_interactive_refused(api, cards):
    assert _robot(api, {"msgtype": "template_card", "template_card": cards["news_notice"]})["errcode"] == 0
    assert api.sandbox.messages()[-1]["card"] == cards["news_notice"]

    body = _robot(api, {"msgtype": "template_card", "template_card": cards["button_interaction"]})

    assert body["errcode"] == 40058


@pytest.mark.parametrize(("articles", "errcode"), [(1, 0), (8, 0), (9, 40058), (0, 40058)])
def test_given_news_articles_when_sending_then_1_to_8_allowed(api, articles, errcode):
    items = [{"title": f"第{i}条", "url": "https://e.com"} for i in range(articles)]

    assert _robot(api, {"msgtype": "news", "news": {"articles": items}})["errcode"] == errcode


def test_given_image_message_when_sending_to_robot_then_40008(api):
    assert _robot(api, {"msgtype": "image", "image": {"base64": "", "md5": ""}})["errcode"] == 40008


def test_given_rejected_robot_messages_when_counting_rate_then_they_do_not_count(api):
    for _ in range(25):
        _robot(api, {"msgtype": "text", "text": {"content": ""}})

    assert _robot(api, {"msgtype": "text", "text": {"content": "ok"}})["errcode"] == 0
