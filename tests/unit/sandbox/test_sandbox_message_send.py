"""message/send: recipients, validation and what the sandbox records."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def test_given_known_and_unknown_users_when_sending_then_errcode_0_with_lowercased_invaliduser(api):
    body = api.send_text(touser="dev1|Ghost|NoBody")

    assert body["errcode"] == 0
    assert body["invaliduser"] == "ghost|nobody"
    assert body["msgid"]
    assert api.sandbox.messages()[-1]["recipients"]["userids"] == ["dev1"]


def test_given_user_id_in_other_case_when_sending_then_delivered_to_canonical_userid(api):
    body = api.send_text(touser="DEV2")

    assert "invaliduser" not in body
    assert api.sandbox.messages()[-1]["recipients"]["touser"] == ["dev2"]


def test_given_user_who_left_when_sending_then_reported_invalid(api):
    body = api.send_text(touser="dev1|gone")

    assert body["invaliduser"] == "gone"


def test_given_only_invalid_recipients_when_sending_then_81013_and_nothing_recorded(api):
    body = api.send_text(touser="ghost|gone", toparty="999", totag="77")

    assert body["errcode"] == 81013
    assert body["invaliduser"] == "ghost|gone"
    assert body["invalidparty"] == "999"
    assert body["invalidtag"] == "77"
    assert api.sandbox.messages() == []


def test_given_party_and_tag_when_sending_then_expanded_to_active_members(api):
    api.send_text(toparty="2", totag="1")

    recipients = api.sandbox.messages()[-1]["recipients"]
    assert recipients["toparty"] == ["lead", "dev1", "dev2", "cfo"]  # sub-department 3 included, gone excluded
    assert recipients["totag"] == ["cfo"]
    assert recipients["userids"] == ["lead", "dev1", "dev2", "cfo"]
    assert recipients["all"] is False


def test_given_tag_defined_by_party_when_sending_then_party_members_reached(api):
    api.send_text(totag="2")

    assert api.sandbox.messages()[-1]["recipients"]["totag"] == ["lead", "dev1", "dev2", "cfo"]


def test_given_empty_tag_only_when_sending_then_81013(api):
    assert api.send_text(totag="3")["errcode"] == 81013


def test_given_at_all_when_sending_then_every_active_member(api):
    api.send_text(touser="@all")

    recipients = api.sandbox.messages()[-1]["recipients"]
    assert recipients["all"] is True
    assert sorted(recipients["userids"]) == ["boss", "cfo", "dev1", "dev2", "lead"]


@pytest.mark.parametrize(
    ("field", "count", "ok"),
    [("touser", 1000, True), ("touser", 1001, False), ("toparty", 100, True), ("toparty", 101, False),
     ("totag", 100, True), ("totag", 101, False)],
)
def test_given_recipient_list_at_or_over_limit_when_sending_then_40058_only_over(api, field, count, ok):
    ids = ["dev1" if field == "touser" else "1"] + [f"{i + 1000}" for i in range(count - 1)]

    body = api.send_text(**{field: "|".join(ids)})

    assert (body["errcode"] == 0) is ok
    if not ok:
        assert body["errcode"] == 40058 and field in body["errmsg"]


def test_given_no_recipients_when_sending_then_40058(api):
    body = api.send(msgtype="text", text={"content": "x"}, touser="", toparty="", totag="")

    assert body["errcode"] == 40058


@pytest.mark.parametrize("agentid", [None, 1, "abc"])
def test_given_wrong_agentid_when_sending_then_40056(api, agentid):
    body = api.post("message/send", {"agentid": agentid, "touser": "dev1", "msgtype": "text",
                                     "text": {"content": "x"}})

    assert body["errcode"] == 40056


def test_given_agentid_as_string_when_sending_then_accepted_like_wecom(api):
    body = api.post("message/send", {"agentid": str(api.agent_id), "touser": "dev1", "msgtype": "text",
                                     "text": {"content": "x"}})

    assert body["errcode"] == 0


@pytest.mark.parametrize("msgtype", ["image", "news", None])
def test_given_unsupported_msgtype_when_sending_then_40008(api, msgtype):
    assert api.send(msgtype=msgtype, touser="dev1")["errcode"] == 40008


@pytest.mark.parametrize("content", ["", "   ", None])
def test_given_empty_text_when_sending_then_44004(api, content):
    assert api.send(msgtype="text", text={"content": content}, touser="dev1")["errcode"] == 44004


def test_given_text_over_2048_bytes_when_sending_then_truncated_like_wecom_and_recorded_as_delivered(api):
    exact = "审" * 682 + "ab"  # 682 × 3 + 2 = 2048 UTF-8 bytes
    assert api.send(msgtype="text", touser="dev1", text={"content": exact})["errcode"] == 0

    body = api.send(msgtype="text", touser="dev1", text={"content": exact + "c"})
    split = api.send(msgtype="text", touser="dev1", text={"content": "a" + "审" * 683})  # 2050 bytes

    assert body["errcode"] == 0 and split["errcode"] == 0
    first, second, third = api.sandbox.messages()
    assert (first["content"], first["truncated"]) == (exact, [])
    assert (second["content"], second["truncated"]) == (exact, ["text.content"])
    assert third["content"] == "a" + "审" * 682  # 2047 bytes: a character is never cut in half


def test_given_markdown_over_2048_bytes_when_sending_then_45002_not_truncated(api):
    exact = "审" * 682 + "ab"
    assert api.send(msgtype="markdown", touser="dev1", markdown={"content": exact})["errcode"] == 0

    body = api.send(msgtype="markdown", touser="dev1", markdown={"content": exact + "c"})

    assert body["errcode"] == 45002
    assert "2049" in body["errmsg"]
    assert [m["content"] for m in api.sandbox.messages()] == [exact]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=900).filter(lambda s: s.strip()))
def test_property_text_delivered_as_longest_prefix_within_2048_bytes(api, text):
    sent = text * 3
    body = api.send_text(sent)

    delivered = api.sandbox.messages()[-1]["content"]
    assert body["errcode"] == 0
    assert sent.startswith(delivered)
    assert len(delivered.encode("utf-8")) <= 2048
    assert delivered == sent or len((sent[: len(delivered) + 1]).encode("utf-8")) > 2048


def test_given_textcard_when_sending_then_recorded_as_card(api):
    card = {"title": "周报提醒", "description": "<div class=\"gray\">今天</div>", "url": "https://e.com", "btntxt": "详情"}

    body = api.send(msgtype="textcard", textcard=card, touser="dev1")

    assert body["errcode"] == 0
    assert api.sandbox.messages()[-1]["card"] == card


@pytest.mark.parametrize(
    ("change", "delivered", "field"),
    [({"title": "标" * 43}, {"title": "标" * 42}, "textcard.title"),  # 129 bytes → 126 (whole characters)
     ({"description": "述" * 171}, {"description": "述" * 170}, "textcard.description"),  # 513 → 510
     ({"btntxt": "五个字按钮"}, {"btntxt": "五个字按"}, "textcard.btntxt")],  # at most 4 characters
)
def test_given_textcard_over_limits_when_sending_then_truncated_like_wecom(api, change, delivered, field):
    card = {"title": "t", "description": "d", "url": "https://e.com", **change}

    body = api.send(msgtype="textcard", textcard=card, touser="dev1")

    assert body["errcode"] == 0
    message = api.sandbox.messages()[-1]
    assert message["card"] == {**card, **delivered}
    assert message["truncated"] == [field]


@pytest.mark.parametrize(
    ("change", "errcode"),
    [({"url": None}, 40058), ({"title": None}, 40058), ({"description": ""}, 40058), ({"btntxt": 5}, 40058)],
)
def test_given_invalid_textcard_when_sending_then_rejected(api, change, errcode):
    card = {"title": "t", "description": "d", "url": "https://e.com"}
    card.update(change)

    body = api.send(msgtype="textcard", textcard={k: v for k, v in card.items() if v is not None}, touser="dev1")

    assert body["errcode"] == errcode


def test_given_messages_when_listing_then_record_shape_newest_last(api, clock):
    api.send_text("第一条")
    clock.advance(60)
    api.send(msgtype="markdown", markdown={"content": "**第二条**"}, toparty="4")

    first, second = api.sandbox.messages()

    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["at"] == "2026-03-02T01:00:00.000Z"
    assert second["at"] == "2026-03-02T01:01:00.000Z"
    assert second == {
        "seq": 2, "at": "2026-03-02T01:01:00.000Z", "api": "message/send", "msgtype": "markdown",
        "recipients": {"touser": [], "toparty": ["cfo"], "totag": [], "userids": ["cfo"], "all": False},
        "content": "**第二条**", "card": None, "task_id": None, "response_code": None,
        "msgid": second["msgid"], "chatid": None, "robot": None, "replace_name": None, "truncated": [],
        "corp": None,
    }
