"""Text cards carry no button text of ours unless the caller gives one (WeCom shows its default)."""

from __future__ import annotations


def test_given_no_button_text_when_a_textcard_is_sent_then_btntxt_is_omitted(client, router) -> None:
    client.send_textcard("标题", "说明", "https://example.com/t/1", touser=["u"])

    assert "btntxt" not in router.bodies("message/send")[0]["textcard"]


def test_given_a_button_text_when_a_textcard_is_sent_then_it_is_passed_as_given(client, router) -> None:
    client.send_textcard("标题", "说明", "https://example.com/t/1", btntxt="查看工单", touser=["u"])

    assert router.bodies("message/send")[0]["textcard"]["btntxt"] == "查看工单"
