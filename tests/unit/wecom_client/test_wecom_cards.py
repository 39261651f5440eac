"""Card builders, the editable cards.yaml, safe template rendering and task ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from wecom_oa.errors import InvalidInput
from wecom_oa.settings import PACKAGE_DIR
from wecom_oa.wecom.cards import (
    ACCEPT,
    ACK,
    APPROVE,
    REJECT,
    CardBuilder,
    CardTemplateError,
    load_card_templates,
    new_task_id,
    render,
)

CARDS_YAML = PACKAGE_DIR / "templates" / "cards.yaml"
SUBMITTED = datetime(2026, 1, 23, 1, 30, tzinfo=UTC)  # 09:30 in Asia/Shanghai


@pytest.fixture
def builder() -> CardBuilder:
    return CardBuilder(load_card_templates(CARDS_YAML))


def shipped() -> dict:
    return yaml.safe_load(CARDS_YAML.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / "cards.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_given_expense_when_approval_card_built_then_buttons_fields_and_flags(builder):
    card = builder.approval_card(task_id="apv-1", approval_id="A-1", type_name="报销", applicant="zhangsan",
                                 applicant_name="张三", submitted_at=SUBMITTED,
                                 fields=[("金额", "1200.00 元"), ("事由", "差旅")], flags=["超出部门月度预算"],
                                 stage=2, stage_name="财务预审", detail_url="https://oa.example.com/a/A-1")

    assert card["card_type"] == "button_interaction" and card["task_id"] == "apv-1"
    assert card["main_title"] == {"title": "报销审批", "desc": "张三 提交于 01月23日 09:30"}
    assert [b["key"] for b in card["button_list"]] == [APPROVE, REJECT]
    assert [b["text"] for b in card["button_list"]] == ["同意", "驳回"]
    assert card["horizontal_content_list"][0] == {"keyname": "金额", "value": "1200.00 元"}
    assert card["sub_title_text"] == "第2步：财务预审\n⚠ 超出部门月度预算"
    assert card["card_action"] == {"type": 1, "url": "https://oa.example.com/a/A-1"}


def test_given_more_than_six_fields_then_overflow_is_announced_not_dropped(builder):
    fields = [(f"字段{i}", str(i)) for i in range(9)]

    card = builder.approval_card(task_id="t", approval_id="A", type_name="请假", applicant="u", applicant_name="U",
                                 submitted_at=SUBMITTED, fields=fields)

    rows = card["horizontal_content_list"]
    assert len(rows) == 6
    assert rows[-1] == {"keyname": "其余字段", "value": "另有 4 项，点开卡片查看"}


@pytest.mark.parametrize(("approved", "text"), [(True, "已同意"), (False, "已驳回")])
def test_given_decision_then_final_card_shows_who_and_greys_buttons(builder, approved, text):
    card = builder.approval_final_card(task_id="apv-1", approval_id="A", type_name="报销", applicant_name="张三",
                                       approved=approved, by_name="李四", decided_at=SUBMITTED)

    assert card["task_id"] == "apv-1" and card["replace_text"] == text
    assert card["sub_title_text"] == f"{text}（李四，01月23日 09:30）"
    assert builder.final_button_text("approved" if approved else "rejected") == text


def test_given_ticket_then_card_has_accept_button_priority_and_due(builder):
    card = builder.ticket_card(task_id="tk-1", ticket_id="T-100", title="打印机故障", priority="urgent",
                               due=SUBMITTED + timedelta(hours=4), type_name="IT 报修", reporter_name="王五")

    assert card["main_title"] == {"title": "打印机故障", "desc": "工单号 T-100"}
    assert [b["key"] for b in card["button_list"]] == [ACCEPT]
    rows = {r["keyname"]: r["value"] for r in card["horizontal_content_list"]}
    assert rows == {"优先级": "紧急", "截止时间": "01月23日 13:30", "类型": "IT 报修", "提交人": "王五"}


def test_given_escalation_then_text_notice_with_overdue_and_link(builder):
    card = builder.ticket_escalation_notice(ticket_id="T-100", title="客户投诉", level=2,
                                            overdue=timedelta(hours=3, minutes=5), assignee_name="张三",
                                            due=SUBMITTED, priority="high")

    assert card["card_type"] == "text_notice" and "task_id" not in card
    assert card["main_title"]["title"] == "工单升级提醒（第2级）"
    assert card["emphasis_content"] == {"title": "3小时5分钟", "desc": "未处理"}
    assert card["card_action"]["url"] == "https://work.weixin.qq.com/"


def test_given_notice_then_ack_card_and_final_state(builder):
    card = builder.ack_card(task_id="ack-1", title="安全培训通知", sender_name="行政部", content="周五 14:00 三楼",
                            deadline=SUBMITTED)
    final = builder.ack_final_card(task_id="ack-1", title="安全培训通知", sender_name="行政部",
                                   content="周五 14:00 三楼", acked_at=SUBMITTED)

    assert card["button_list"] == [{"text": "确认已读", "style": 1, "key": ACK}]
    assert card["sub_title_text"] == "周五 14:00 三楼\n请于 01月23日 09:30 前确认"
    assert final["replace_text"] == "已确认" and final["task_id"] == "ack-1"
    assert "已确认（01月23日 09:30）" in final["sub_title_text"]


def test_given_company_edits_yaml_then_cards_use_the_new_text(tmp_path):
    data = shipped()
    data["approval"]["buttons"]["approve"]["text"] = "批准"
    data["ack"]["button"]["text"] = "我已知晓"

    b = CardBuilder(load_card_templates(write(tmp_path, data)))

    card = b.approval_card(task_id="t", approval_id="A", type_name="报销", applicant="u", applicant_name="U",
                           submitted_at=SUBMITTED)
    assert card["button_list"][0] == {"text": "批准", "style": 1, "key": APPROVE}
    assert b.ack_card(task_id="t", title="x", sender_name="y", content="")["button_list"][0]["text"] == "我已知晓"


def test_given_yaml_with_unknown_placeholder_then_load_fails_naming_it(tmp_path):
    data = shipped()
    data["ticket"]["title"] = "{title}（{assignee}）"

    with pytest.raises(CardTemplateError, match=r"ticket\.title.*assignee"):
        load_card_templates(write(tmp_path, data))


def test_given_yaml_missing_a_section_or_button_then_load_fails(tmp_path):
    data = shipped()
    del data["ack"]
    with pytest.raises(CardTemplateError, match="ack"):
        load_card_templates(write(tmp_path, data))

    data = shipped()
    data["approval"]["buttons"] = {"approve": {"text": "同意"}}
    with pytest.raises(CardTemplateError, match="reject"):
        load_card_templates(write(tmp_path, data))


def test_render_substitutes_names_only_and_names_missing_ones():
    assert render("{a}-{b:>3}-{{x}}", {"a": "甲", "b": 7}, where="t") == "甲-  7-{x}"
    with pytest.raises(CardTemplateError, match=r"t: placeholder \{c\}"):
        render("{c}", {"a": 1}, where="t")
    for bad in ("{a.__class__}", "{a[0]}", "{a!r}", "{a", "{a:{b}}"):
        with pytest.raises(CardTemplateError):
            render(bad, {"a": "x", "b": "y"}, where="t")


def test_new_task_id_is_unique_short_and_in_charset():
    ids = {new_task_id("apv") for _ in range(500)}

    assert len(ids) == 500
    assert all(re.fullmatch(r"apv-[0-9A-Za-z_\-]{16}", t) for t in ids)
    with pytest.raises(InvalidInput):
        new_task_id("bad prefix")
    with pytest.raises(InvalidInput):
        new_task_id("x@y")
