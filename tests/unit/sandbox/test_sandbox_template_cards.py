"""template_card sending, task_id rules, response codes, clicks and message/update_template_card."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wecom_oa.errors import Forbidden, InvalidInput, NotFound

CALLBACK_CARDS = ["button_interaction", "vote_interaction", "multiple_interaction", "text_notice_with_menu"]


@pytest.mark.parametrize(
    "name",
    ["text_notice", "news_notice", "button_interaction", "vote_interaction", "multiple_interaction",
     "text_notice_with_menu"],
)
def test_given_each_card_type_when_sending_then_accepted_and_recorded(api, cards, name):
    body = api.send_card(cards[name])

    assert body["errcode"] == 0, body
    assert ("response_code" in body) is (name in CALLBACK_CARDS)
    message = api.sandbox.messages()[-1]
    assert message["msgtype"] == "template_card"
    assert message["card"] == cards[name]
    assert message["task_id"] == cards[name].get("task_id")
    assert message["response_code"] == body.get("response_code")


@pytest.mark.parametrize("name", CALLBACK_CARDS)
def test_given_callback_card_without_task_id_when_sending_then_42014(api, cards, name):
    del cards[name]["task_id"]

    assert api.send_card(cards[name])["errcode"] == 42014


@pytest.mark.parametrize("task_id", ["has space", "中文", "a/b", "x" * 129, ""])
def test_given_task_id_outside_charset_or_length_when_sending_then_42014(api, cards, task_id):
    cards["button_interaction"]["task_id"] = task_id

    assert api.send_card(cards["button_interaction"])["errcode"] == 42014


def test_given_task_id_of_128_allowed_chars_when_sending_then_accepted(api, cards):
    cards["button_interaction"]["task_id"] = ("aZ09_-@" * 19)[:128]

    assert api.send_card(cards["button_interaction"])["errcode"] == 0


def test_given_task_id_already_used_when_sending_again_then_42014_and_first_card_kept(api, cards):
    first = api.send_card(cards["button_interaction"])
    cards["vote_interaction"]["task_id"] = cards["button_interaction"]["task_id"]

    body = api.send_card(cards["vote_interaction"])

    assert body["errcode"] == 42014
    card = api.sandbox.card_by_task_id("apv-001")
    assert card["card"]["card_type"] == "button_interaction"
    assert card["response_code"] == first["response_code"]


@pytest.mark.parametrize(
    ("name", "breakage"),
    [
        ("text_notice", lambda c: c.pop("card_action")),
        ("text_notice", lambda c: (c.pop("main_title"))),
        ("news_notice", lambda c: c.pop("card_image")),
        ("button_interaction", lambda c: c.update(button_list=[])),
        ("button_interaction", lambda c: c["button_list"][1].update(key="approve")),
        ("button_interaction", lambda c: c["button_list"][0].pop("key")),
        ("vote_interaction", lambda c: c.pop("submit_button")),
        ("vote_interaction", lambda c: c["checkbox"].update(option_list=[])),
        ("multiple_interaction", lambda c: c.update(select_list=c["select_list"] * 2)),
        ("button_interaction", lambda c: c.update(card_type="poll")),
    ],
)
def test_given_malformed_card_when_sending_then_40058(api, cards, name, breakage):
    breakage(cards[name])

    assert api.send_card(cards[name])["errcode"] == 40058


def test_given_text_notice_with_sub_title_only_when_sending_then_accepted(api, cards):
    card = cards["text_notice"]
    del card["main_title"]
    card["sub_title_text"] = "只有副标题"

    assert api.send_card(card)["errcode"] == 0


def test_given_sent_card_when_looked_up_then_recipients_keys_and_state(api, cards):
    body = api.send_card(cards["button_interaction"], touser="dev1", totag="1")

    card = api.sandbox.card_by_task_id("apv-001")

    assert card["recipients"]["userids"] == ["dev1", "cfo"]
    assert card["keys"] == ["approve", "reject"]
    assert card["callback_capable"] is True
    assert card["response_code"] == body["response_code"]
    assert card["updates"] == [] and card["clicks"] == []


def test_given_unknown_task_id_when_looked_up_then_not_found(api):
    with pytest.raises(NotFound):
        api.sandbox.card_by_task_id("nope")


def test_given_click_when_issuing_codes_then_each_is_fresh_and_recorded(api, cards):
    sent = api.send_card(cards["button_interaction"])

    first = api.sandbox.issue_click_response_code("apv-001", "dev1", key="approve")
    second = api.sandbox.issue_click_response_code("apv-001", "DEV2")

    assert len({sent["response_code"], first, second}) == 3
    clicks = api.sandbox.card_by_task_id("apv-001")["clicks"]
    assert [(c["userid"], c["key"], c["response_code"]) for c in clicks] == [
        ("dev1", "approve", first), ("dev2", None, second)]


def test_given_click_by_non_recipient_or_unknown_key_when_issuing_then_refused(api, cards):
    api.send_card(cards["button_interaction"], touser="dev1")
    api.send_card(cards["text_notice"] | {"task_id": "plain-notice"}, touser="dev1")

    with pytest.raises(Forbidden):
        api.sandbox.issue_click_response_code("apv-001", "boss")
    with pytest.raises(InvalidInput):
        api.sandbox.issue_click_response_code("apv-001", "dev1", key="maybe")
    with pytest.raises(InvalidInput):
        api.sandbox.issue_click_response_code("plain-notice", "dev1")
    with pytest.raises(NotFound):
        api.sandbox.issue_click_response_code("missing", "dev1")


def _update_button(api, code, name="已同意"):
    return api.post("message/update_template_card",
                    {"agentid": api.agent_id, "response_code": code, "button": {"replace_name": name}})


def test_given_click_code_when_updating_button_then_clicker_card_updated_and_recorded(api, cards):
    api.send_card(cards["button_interaction"])
    code = api.sandbox.issue_click_response_code("apv-001", "dev1", key="approve")

    body = _update_button(api, code)

    assert body == {"errcode": 0, "errmsg": "ok", "invaliduser": []}
    update = api.sandbox.messages()[-1]
    assert update["api"] == "message/update_template_card"
    assert update["msgtype"] == "button"
    assert update["replace_name"] == "已同意"
    assert update["task_id"] == "apv-001"
    assert update["response_code"] == code
    assert update["recipients"]["userids"] == ["dev1"]
    card = api.sandbox.card_by_task_id("apv-001")
    assert card["replace_name"] == "已同意"
    assert card["updates"] == [update]


def test_given_send_code_when_replacing_whole_card_then_all_recipients_updated(api, cards):
    sent = api.send_card(cards["button_interaction"])
    replacement = cards["text_notice"]

    body = api.post("message/update_template_card",
                    {"agentid": api.agent_id, "response_code": sent["response_code"], "template_card": replacement})

    assert body["errcode"] == 0
    card = api.sandbox.card_by_task_id("apv-001")
    assert card["card_type"] == "button_interaction"  # clicks on it still call back as the sent type
    assert card["card"] == {**replacement, "task_id": "apv-001"}
    assert card["original_card"] == cards["button_interaction"]
    assert api.sandbox.messages()[-1]["recipients"]["userids"] == ["dev1", "dev2"]


def test_given_explicit_userids_when_updating_then_unknown_ones_listed_invalid(api, cards):
    sent = api.send_card(cards["button_interaction"])

    body = api.post("message/update_template_card",
                    {"agentid": api.agent_id, "response_code": sent["response_code"], "userids": ["dev2", "ghost"],
                     "button": {"replace_name": "已处理"}})

    assert body["invaliduser"] == ["ghost"]
    assert api.sandbox.messages()[-1]["recipients"]["userids"] == ["dev2"]


def test_given_used_code_when_updating_again_then_rejected_and_not_recorded(api, cards):
    api.send_card(cards["button_interaction"])
    code = api.sandbox.issue_click_response_code("apv-001", "dev1")
    assert _update_button(api, code)["errcode"] == 0

    body = _update_button(api, code, "再次")

    assert body["errcode"] == 40058 and "used" in body["errmsg"]
    assert len(api.sandbox.card_by_task_id("apv-001")["updates"]) == 1


def test_given_code_older_than_72h_when_updating_then_expired(api, cards, clock):
    api.send_card(cards["button_interaction"])
    fresh = api.sandbox.issue_click_response_code("apv-001", "dev1")
    stale = api.sandbox.issue_click_response_code("apv-001", "dev2")
    clock.advance(timedelta(hours=72) - timedelta(seconds=1))
    api.token = api.new_token()
    assert _update_button(api, fresh)["errcode"] == 0
    clock.advance(1)

    body = _update_button(api, stale)

    assert body["errcode"] == 40058 and "expired" in body["errmsg"]


@pytest.mark.parametrize("code", ["unknown-code", None, 123])
def test_given_unknown_code_when_updating_then_rejected(api, code):
    body = _update_button(api, code)

    assert body["errcode"] == 40058 and "unknown" in body["errmsg"]


def test_given_notice_card_with_menu_when_button_update_then_rejected(api, cards):
    sent = api.send_card(cards["text_notice_with_menu"])

    assert _update_button(api, sent["response_code"])["errcode"] == 40058


def test_given_update_without_button_or_card_when_called_then_40058_and_code_still_usable(api, cards):
    sent = api.send_card(cards["button_interaction"])
    body = api.post("message/update_template_card", {"agentid": api.agent_id, "response_code": sent["response_code"]})

    assert body["errcode"] == 40058
    assert _update_button(api, sent["response_code"])["errcode"] == 0


def test_given_replacement_with_other_task_id_when_updating_then_rejected(api, cards):
    sent = api.send_card(cards["button_interaction"])

    body = api.post("message/update_template_card",
                    {"agentid": api.agent_id, "response_code": sent["response_code"],
                     "template_card": cards["vote_interaction"]})

    assert body["errcode"] == 40058
