"""Recipient batching (⌈N/1000⌉ calls) and byte-limit splitting (never cut a character, never truncate)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fixtures.wecom_api.router import load
from wecom_oa.errors import InvalidInput
from wecom_oa.wecom.client import (
    TEXT_LIMIT,
    base_task_id,
    batch_recipients,
    batch_task_id,
    split_utf8,
    utf8_len,
)


@pytest.mark.parametrize("n", [1, 999, 1000, 1001, 6000])
def test_given_n_users_when_sending_then_ceil_n_over_1000_calls_each_user_once(client, router, n):
    users = [f"user{i:05d}" for i in range(n)]

    result = client.send_text("通知", touser=users)

    bodies = router.bodies("message/send")
    assert len(bodies) == math.ceil(n / 1000) == result.calls
    sent = [u for b in bodies for u in b["touser"].split("|")]
    assert sent == users
    assert all(len(b["touser"].split("|")) <= 1000 for b in bodies)
    assert len(result.msgids) == result.calls


def test_given_parties_and_tags_over_limits_then_batches_respect_each_limit():
    batches = batch_recipients(["a", "b"], list(range(250)), list(range(120)))

    assert len(batches) == 3
    assert [len(b.toparty.split("|")) for b in batches] == [100, 100, 50]
    assert [len(b.totag.split("|")) if b.totag else 0 for b in batches] == [100, 20, 0]
    assert batches[0].touser == "a|b" and batches[1].touser == ""


def test_given_duplicates_or_at_all_then_deduplicated_or_single_call():
    assert batch_recipients(["a", "a", "b"])[0].touser == "a|b"
    assert [b.touser for b in batch_recipients(["a", "@all", "b"])] == ["@all"]
    with pytest.raises(InvalidInput):
        batch_recipients([], [], [])


def test_given_batched_partial_failures_then_results_aggregate(client, router):
    partial = load("message_send_partial.json")
    router.script("message/send", partial, partial)

    result = client.send_text("x", touser=[f"u{i}" for i in range(1500)])

    assert result.calls == 2
    assert result.invaliduser == ["ghost1", "ghost2", "ghost1", "ghost2"]
    assert result.msgids == ["partial-msgid-1", "partial-msgid-1"]


def test_given_card_to_2500_users_then_each_batch_has_its_own_task_id(client, router):
    card = {"card_type": "button_interaction", "task_id": "ack-abc", "button_list": [{"text": "确认", "key": "ack"}]}

    result = client.send_template_card(card, touser=[f"u{i}" for i in range(2500)])

    sent_ids = [b["template_card"]["task_id"] for b in router.bodies("message/send")]
    assert sent_ids == ["ack-abc", "ack-abc@b1", "ack-abc@b2"] == result.task_ids
    assert {base_task_id(t) for t in sent_ids} == {"ack-abc"}
    assert len(result.response_codes) == 3
    assert card["task_id"] == "ack-abc"  # caller's card not mutated


def test_given_task_ids_then_batch_suffix_round_trips():
    assert batch_task_id("t", 0) == "t"
    assert base_task_id(batch_task_id("apv-x_y", 12)) == "apv-x_y"
    assert base_task_id("user@bcorp") == "user@bcorp"


def test_given_long_text_when_sent_then_several_messages_each_within_limit(client, router):
    lines = [f"第{i}行：" + "工单处理进度更新" * 10 for i in range(40)]
    content = "\n".join(lines)

    result = client.send_text(content, touser=["zhangsan"])

    parts = [b["text"]["content"] for b in router.bodies("message/send")]
    assert utf8_len(content) > TEXT_LIMIT and result.calls == len(parts) > 1
    assert all(utf8_len(p) <= TEXT_LIMIT for p in parts)
    assert "\n".join(parts) == content  # split on line boundaries only: nothing lost


def test_given_single_huge_line_then_cut_between_characters():
    text = "汉" * 1000  # 3000 bytes, no newline

    parts = split_utf8(text, 2048)

    assert [utf8_len(p) for p in parts] == [2046, 954]
    assert "".join(parts) == text


def test_given_empty_content_then_refused():
    with pytest.raises(InvalidInput):
        split_utf8(" \n ", 2048)


@settings(max_examples=150, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(["a", "é", "中", "😀", "\n", " ", "Z"]), min_size=1, max_size=600),
       limit=st.sampled_from([4, 7, 16, 64, 2048]))
def test_property_parts_fit_the_limit_and_keep_every_character(text, limit):
    if not text.strip():
        return
    parts = split_utf8(text, limit)

    assert all(0 < utf8_len(p) <= limit for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
