"""Broadcast notices: recipient expansion, batching, ack arithmetic, follow-up stages once each."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from wecom_oa.directory import Department, StaticDirectory, User
from wecom_oa.errors import Forbidden, InvalidInput
from wecom_oa.notices.domain import (
    FollowupState,
    Notice,
    ack_stats,
    batches,
    expand_recipients,
    plan_followup,
    record_ack,
    render_final_report,
    render_leader_note,
    render_nudge,
)
from wecom_oa.texts import Templates, byte_len, split_markdown

SH = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 23, hour, minute, tzinfo=SH)


def notice(**fields: object) -> Notice:
    base: dict[str, object] = {"title": "安全生产月通知", "content": "请全体员工阅读安全规范。", "touser": ["alice"],
                               "ack_deadline": at(18), "created_at": at(9), "sender": "ceo"}
    return Notice.model_validate({**base, **fields})


# ---- recipients ------------------------------------------------------------------------------------


def test_given_users_parties_and_tags_when_expanded_then_deduplicated_in_order(directory: StaticDirectory) -> None:
    got = expand_recipients(notice(touser="alice|bob", toparty=[3], totag=["安全员"]), directory)
    assert got.userids == ["alice", "bob", "prod_head", "carol", "dave"]


def test_given_department_with_leaver_when_expanded_then_leaver_excluded_and_reported(directory: StaticDirectory) -> None:
    got = expand_recipients(notice(touser=[], toparty=[2]), directory)
    assert got.userids == ["rd_head", "alice", "bob"] and got.inactive == ["erin"]


def test_given_at_all_when_expanded_then_every_active_member(directory: StaticDirectory) -> None:
    got = expand_recipients(notice(touser=["@all"]), directory)
    assert sorted(got.userids) == sorted(u.userid for u in directory.users() if u.status == 1)


def test_given_unknown_user_party_and_tag_when_expanded_then_invalid_input_names_each(directory: StaticDirectory) -> None:
    with pytest.raises(InvalidInput) as caught:
        expand_recipients(notice(touser=["alice", "ghost"], toparty=[99], totag=["无此标签"]), directory)
    fields = [d["field"] for d in caught.value.details]
    assert fields == ["touser[1]", "toparty[0]", "totag[0]"]


def test_given_no_recipients_when_notice_built_then_rejected() -> None:
    with pytest.raises(ValidationError, match="at least one of touser"):
        notice(touser=[])


def test_given_deadline_before_creation_when_notice_built_then_rejected() -> None:
    with pytest.raises(ValidationError, match="ack_deadline must be after"):
        notice(ack_deadline=at(8))


def _big_company(n: int) -> StaticDirectory:
    users = [User(userid=f"u{i:05d}", name=f"员工{i}", departments=[2 + i % 3], main_department=2 + i % 3)
             for i in range(n)]
    departments = [Department(id=1, name="总公司", leaders=["u00000"])] + [
        Department(id=k, name=f"部门{k}", parentid=1) for k in (2, 3, 4)]
    return StaticDirectory(users, departments)


@pytest.mark.parametrize(("count", "calls"), [(6000, 6), (6001, 7), (999, 1), (1000, 1)])
def test_given_thousands_of_recipients_when_batched_then_ceil_n_over_1000_sends(count: int, calls: int) -> None:
    recipients = expand_recipients(notice(touser=[], toparty=[1]), _big_company(count)).userids
    parts = batches(recipients)
    assert len(parts) == calls
    assert all(len(p) <= 1000 for p in parts)
    flat = [u for p in parts for u in p]
    assert flat == recipients and len(set(flat)) == count


def test_given_bad_batch_size_when_batched_then_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        batches(["a"], size=1001)


# ---- acks -------------------------------------------------------------------------------------------

RECIPIENTS = ["alice", "bob", "rd_head", "carol", "prod_head", "dave"]


def test_given_acks_when_stats_then_overall_and_per_department_rates(directory: StaticDirectory) -> None:
    acks = {"alice": at(10), "carol": at(10), "prod_head": at(11), "ceo": at(11)}  # ceo is not a recipient
    stats = ack_stats(RECIPIENTS, acks, directory)
    assert (stats.recipients, stats.acknowledged, stats.ack_rate) == (6, 3, 0.5)
    assert stats.pending == ["bob", "rd_head", "dave"]
    assert [(d.department, d.acknowledged, d.total) for d in stats.by_department] == [
        ("销售部", 0, 1), ("研发部", 1, 3), ("生产部", 2, 2)]
    assert [d.ack_rate for d in stats.by_department] == [0.0, pytest.approx(1 / 3), 1.0]
    assert sum(d.total for d in stats.by_department) == stats.recipients


def test_given_no_recipients_when_stats_then_zero_rate_not_division_error(directory: StaticDirectory) -> None:
    assert ack_stats([], {}, directory).ack_rate == 0.0


def test_given_ack_when_recorded_then_first_time_kept_and_strangers_refused() -> None:
    acks = record_ack(RECIPIENTS, {}, "alice", at(10))
    assert record_ack(RECIPIENTS, acks, "alice", at(12)) == {"alice": at(10)}
    with pytest.raises(Forbidden):
        record_ack(RECIPIENTS, acks, "ceo", at(10))


# ---- follow-up stages -------------------------------------------------------------------------------


def test_given_a_day_of_runs_when_planned_then_each_stage_happens_once(directory: StaticDirectory) -> None:
    n = notice(nudge_after_minutes=120, escalate_after_minutes=240)
    acks = {"alice": at(10), "carol": at(10), "prod_head": at(11)}
    state = FollowupState()
    seen: list[tuple[datetime, str]] = []
    for when in [at(10), at(11, 5), at(11, 20), at(13), at(13, 15), at(18), at(18, 15)]:
        actions, state = plan_followup(n, RECIPIENTS, acks, state, when, directory)
        seen += [(when, a.stage) for a in actions]
        if when == at(11, 5):
            assert actions[0].userids == ["bob", "rd_head", "dave"]
            again, same = plan_followup(n, RECIPIENTS, acks, state, when, directory)
            assert again == [] and same == state  # idempotent on the stored state
        if when == at(13):
            assert actions[0].leader_notes == {"ceo": ["rd_head", "dave"], "rd_head": ["bob"]}
        if when == at(18):
            assert actions[0].stats is not None and actions[0].stats.ack_rate == 0.5
    assert seen == [(at(11, 5), "nudge"), (at(13), "escalate"), (at(18), "final_report")]
    assert state.done and state.skipped == []


def test_given_everyone_acked_early_when_planned_then_final_report_now_and_nudges_skipped(directory: StaticDirectory) -> None:
    acks = {u: at(9, 30) for u in RECIPIENTS}
    actions, state = plan_followup(notice(), RECIPIENTS, acks, FollowupState(), at(10), directory)
    assert [a.stage for a in actions] == ["final_report"]
    assert state.skipped == ["nudge", "escalate"] and state.done


def test_given_first_run_after_deadline_when_planned_then_only_final_report(directory: StaticDirectory) -> None:
    actions, state = plan_followup(notice(), RECIPIENTS, {}, FollowupState(), at(19), directory)
    assert [a.stage for a in actions] == ["final_report"]
    assert plan_followup(notice(), RECIPIENTS, {}, state, at(20), directory)[0] == []


def test_given_nudge_and_escalation_due_together_when_planned_then_the_leaders_wait_the_nudges_head_start(
        directory: StaticDirectory) -> None:
    # the first sweep comes at 14:00 (the nudge was due 11:00, the escalation 13:00): members are
    # nudged now and leaders hear 2 h later, not in the same minute
    actions, state = plan_followup(notice(), RECIPIENTS, {}, FollowupState(), at(14), directory)
    assert [a.stage for a in actions] == ["nudge"] and state.nudged_at == at(14)
    assert plan_followup(notice(), RECIPIENTS, {}, state, at(15, 45), directory)[0] == []
    actions, state = plan_followup(notice(), RECIPIENTS, {}, state, at(16), directory)
    assert [a.stage for a in actions] == ["escalate"] and state.escalated_at == at(16) and not state.done


def test_given_notice_when_rendered_then_chinese_nudge_note_and_report(
    directory: StaticDirectory, templates: Templates
) -> None:
    n = notice()
    assert "安全生产月通知" in render_nudge(n, templates, SH) and "11-23 18:00" in render_nudge(n, templates, SH)
    names = {u.userid: u.name for u in directory.users()}
    assert "李四" in render_leader_note(n, ["bob"], templates, names)
    stats = ack_stats(RECIPIENTS, {"alice": at(10)}, directory)
    lines = render_final_report(n, stats, templates, names=names, max_pending_names=2)
    text = "\n".join(lines)
    assert "确认率 **16.7%**" in text and "生产部：0/2" in text and "另有 3 人" in text
    assert all(byte_len(p) <= 2048 for p in split_markdown(lines, 2048))


def test_given_escalation_after_deadline_config_when_planned_then_escalation_skipped(directory: StaticDirectory) -> None:
    n = notice(ack_deadline=at(12), nudge_after_minutes=60, escalate_after_minutes=600)
    actions, state = plan_followup(n, RECIPIENTS, {}, FollowupState(), at(10, 1), directory)
    assert [a.stage for a in actions] == ["nudge"]
    actions, state = plan_followup(n, RECIPIENTS, {}, state, at(12), directory)
    assert [a.stage for a in actions] == ["final_report"] and state.skipped == ["escalate"]
    assert timedelta(0) < state.final_at - state.nudged_at
