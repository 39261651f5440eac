"""Addressing many users reads the company once (`user/list`) instead of one `user/get` each."""

from __future__ import annotations

from wecom_oa.notices.domain import Notice, expand_recipients
from wecom_oa.wecom.directory import WeComDirectory


def test_given_few_users_when_preloaded_then_nothing_is_read_in_bulk(client, router) -> None:
    directory = WeComDirectory(client)
    directory.preload(["zhangsan"])
    assert router.count("user/list") == 0
    assert directory.user("zhangsan").name == "张三"
    assert router.count("user/get") == 1


def test_given_a_notice_to_120_stores_when_expanded_then_one_bulk_call_and_inactive_ones_set_apart(client, router) -> None:
    directory = WeComDirectory(client)
    notice = Notice(title="盘点通知", content="今晚盘点", touser=[f"store{i:03d}" for i in range(120)],
                    sender="store000", ack_deadline="2026-11-30T18:00:00+08:00")
    recipients = expand_recipients(notice, directory)
    assert router.count("user/list") == 1
    assert router.count("user/get") == 0
    assert len(recipients.userids) == 108 and len(recipients.inactive) == 12  # status 5 = left the company
