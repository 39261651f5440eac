"""Daily summary: sections, top-N by risk, links, markdown splitting within byte limits, send gating."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import yaml

from wecom_oa.digests.domain import (
    DailySummary,
    OpenItem,
    build_daily_summaries,
    build_daily_summary,
    render_markdown,
    should_send,
)
from wecom_oa.errors import ConfigurationError, InvalidInput
from wecom_oa.texts import APP_MARKDOWN_LIMIT, ROBOT_MARKDOWN_LIMIT, Templates, byte_len, split_markdown

from .conftest import FIXTURES, FakeCalendar

DATA = yaml.safe_load((FIXTURES / "open_items.yaml").read_text(encoding="utf-8"))
NOW = datetime.fromisoformat(DATA["now"])
ITEMS = [OpenItem.model_validate(i) for i in DATA["items"]]
LINKS = {"task": "/tasks/{id}", "ticket": "/tickets/{id}", "approval": "/approvals/{id}", "list": "/groups/{group}/open"}


def summary(top_n: int = 2, items: list[OpenItem] = ITEMS) -> DailySummary:
    return build_daily_summary("proj-apollo", items, NOW, group_name="阿波罗项目组", base_url="https://oa.test/",
                               links=LINKS, top_n=top_n)


def test_given_open_items_when_summarised_then_sections_count_everything_of_the_group() -> None:
    s = summary(top_n=2)
    counts = {sec.key: sec.count for sec in s.sections}
    # risks: T-1 (1.25), T-4 (past due), K-2 (past due), A-2 (.95), T-2 (.9); K-1 (.7) and A-1 (.5) are not near
    assert counts == {"risks": 5, "overdue_tickets": 2, "open_tickets": 4, "approvals": 2, "tasks": 3}
    assert s.day == date(2026, 11, 23) and not s.is_empty
    # 未完成工单 counts all four open tickets but lists only the one no risk section showed
    open_tickets = s.section("open_tickets")
    assert [line.id for line in open_tickets.items] == ["T-3"] and open_tickets.shown_above == 3
    assert open_tickets.more == 0


def test_given_top_n_when_summarised_then_highest_risk_first_with_links_and_more_count() -> None:
    s = summary(top_n=3)
    risks = s.section("risks")
    # T-1 ratio 1.25; T-4 and K-2 past due without a ratio count as 1.0 (earlier due first); A-2 0.95
    assert [line.id for line in risks.items] == ["T-1", "T-4", "K-2"]
    assert risks.more == 2
    assert risks.items[0].url == "https://oa.test/tickets/T-1"
    # equal risk (both past due, no ratio): the earlier due date first
    assert [line.id for line in s.section("overdue_tickets").items] == ["T-1", "T-4"]
    assert [line.id for line in s.section("tasks").items] == ["K-2", "K-1", "K-3"]


def test_given_items_of_other_groups_when_summarised_then_ignored_and_ids_url_quoted() -> None:
    odd = OpenItem(kind="task", id="a/b c", title="x", group="proj-apollo")
    s = summary(items=[*ITEMS, odd], top_n=10)
    assert "K-9" not in {line.id for sec in s.sections for line in sec.items}
    assert "https://oa.test/tasks/a%2Fb%20c" in {line.url for line in s.section("tasks").items}


def test_given_several_groups_when_summarised_then_one_summary_each_and_empty_group_is_empty() -> None:
    out = build_daily_summaries({"proj-apollo": "阿波罗", "proj-hermes": "赫尔墨斯", "proj-idle": "空闲组"}, ITEMS, NOW,
                                base_url="https://oa.test", links=LINKS)
    assert out["proj-hermes"].section("tasks").count == 1
    assert out["proj-idle"].is_empty


def test_given_naive_now_when_summarised_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        build_daily_summary("g", ITEMS, datetime(2026, 11, 23, 18), base_url="https://oa.test")


def test_given_robot_channel_when_rendered_then_mentions_links_and_chinese_text(templates: Templates) -> None:
    (message,) = render_markdown(summary(top_n=2), templates, mentions=True)
    assert "阿波罗项目组" in message and "2026-11-23" in message
    assert "[工单·客户投诉：发票金额错误](https://oa.test/tickets/T-1)" in message
    assert "<@alice>" in message
    assert "另有 3 项" in message and "https://oa.test/groups/proj-apollo/open" in message
    assert "已超期 2小时0分钟" in message  # T-1 due 08:00Z, now 10:00Z


def test_given_markdown_v2_or_app_when_rendered_then_no_mentions(templates: Templates) -> None:
    text = "\n".join(render_markdown(summary(), templates, mentions=False, limit_bytes=APP_MARKDOWN_LIMIT))
    assert "<@" not in text and "负责人 alice" in text


def test_given_empty_summary_when_rendered_then_says_so(templates: Templates) -> None:
    empty = build_daily_summary("proj-idle", ITEMS, NOW, base_url="https://oa.test")
    (message,) = render_markdown(empty, templates)
    assert "没有未完成事项" in message


def test_given_broken_template_when_rendered_then_configuration_error_names_template() -> None:
    broken = Templates({"daily_summary": {"header": "{grop}"}}, "custom.yaml")
    with pytest.raises(ConfigurationError, match=r"custom.yaml.*daily_summary.header"):
        render_markdown(summary(), broken)


def test_given_long_title_when_rendered_then_visibly_shortened_not_silently(templates: Templates) -> None:
    long = OpenItem(kind="task", id="L", title="很长的标题" * 40, group="proj-apollo")
    (message,) = render_markdown(summary(items=[long]), templates, max_title_chars=20)
    assert "很长的标题" * 3 + "很长的标…" in message


# ---- splitting ------------------------------------------------------------------------------------

# "汉" is 3 bytes in UTF-8.
def _lines(count: int, chars: int) -> list[str]:
    return [f"{i:03d}" + "汉" * chars for i in range(count)]


def test_given_text_exactly_at_limit_when_split_then_one_message() -> None:
    lines = _lines(4, 10)  # each line 3 + 30 = 33 bytes, joined 4*33 + 3 = 135
    assert split_markdown(lines, 135) == ["\n".join(lines)]


def test_given_no_marker_when_one_byte_over_then_split_before_the_line_that_overflows() -> None:
    lines = _lines(4, 10)  # 135 bytes joined; the first three lines take 101
    assert split_markdown(lines, 134) == ["\n".join(lines[:3]), lines[3]]
    assert split_markdown(lines, 101) == ["\n".join(lines[:3]), lines[3]]
    assert split_markdown(lines, 100) == ["\n".join(lines[:2]), "\n".join(lines[2:])]


def test_given_text_one_byte_over_when_split_then_two_messages_on_line_boundaries() -> None:
    lines = _lines(4, 10)
    parts = split_markdown(lines, 134, continued="（续{part}/{total}）")
    assert len(parts) >= 2
    assert all(byte_len(p) <= 134 for p in parts)
    body = [line for p in parts for line in p.split("\n") if not line.startswith("（续")]
    assert body == lines
    assert parts[1].startswith("（续2/")


@pytest.mark.parametrize("limit", [ROBOT_MARKDOWN_LIMIT, APP_MARKDOWN_LIMIT])
def test_given_many_chinese_items_when_rendered_then_every_part_within_limit_and_nothing_lost(
    templates: Templates, limit: int
) -> None:
    many = [OpenItem(kind="task", id=f"K{i:03d}", title=f"中文任务标题第{i}项需要处理", group="proj-apollo",
                     owner="alice", sla_ratio=i / 200) for i in range(150)]
    s = build_daily_summary("proj-apollo", many, NOW, base_url="https://oa.test", top_n=50)
    parts = render_markdown(s, templates, limit_bytes=limit)
    assert len(parts) > 1
    assert all(byte_len(p) <= limit for p in parts)
    joined = "\n".join(parts)
    assert all(f"/tasks/K{i:03d})" in joined for i in range(100, 150))  # the top 50 by risk are all there
    assert "另有 100 项" in joined


def test_given_single_line_longer_than_a_message_when_split_then_wrapped_without_loss() -> None:
    line = "长" * 1000  # 3000 bytes
    parts = split_markdown(["标题", line], 1024, continued="（续{part}/{total}）")
    assert all(byte_len(p) <= 1024 for p in parts)
    assert "".join(p.split("\n", 1)[-1] if p.startswith("（续") else p for p in parts).replace("\n", "") == "标题" + line


def test_given_limit_smaller_than_marker_when_split_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        split_markdown(["x" * 50], 8, continued="（续{part}/{total}）")


# ---- send gating --------------------------------------------------------------------------------


def test_given_holiday_when_should_send_then_skipped_and_makeup_saturday_sent(calendar: FakeCalendar) -> None:
    s = summary()
    assert not should_send(calendar, date(2026, 10, 5), summary=s)  # National Day holiday (a Monday)
    assert should_send(calendar, date(2026, 10, 10), summary=s)  # 调休 Saturday
    assert not should_send(calendar, date(2026, 10, 17), summary=s)  # ordinary Saturday
    assert should_send(calendar, date(2026, 10, 9), summary=s)


def test_given_empty_summary_when_only_if_non_empty_then_nothing_sent(calendar: FakeCalendar) -> None:
    empty = build_daily_summary("proj-idle", ITEMS, NOW, base_url="https://oa.test")
    assert not should_send(calendar, date(2026, 10, 9), summary=empty, only_if_non_empty=True)
    assert should_send(calendar, date(2026, 10, 9), summary=empty, only_if_non_empty=False)
