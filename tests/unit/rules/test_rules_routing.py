from __future__ import annotations

import pytest
from pydantic import ValidationError

from wecom_oa.approvals.rules import Stage, UnresolvedApprover, resolve_stage


@pytest.fixture
def resolve(directory, templates):
    def run(applicant, form=None, **stage):
        stage.setdefault("name", "审批")
        return resolve_stage(1, Stage.model_validate(stage), directory.user(applicant), form or {}, directory,
                             templates)
    return run


def test_given_an_applicant_in_an_any_stage_when_skip_then_only_the_others_remain(resolve):
    stage = resolve("zhaomin", approvers=["role:财务"], on_self_approval="skip")
    assert stage.approvers == ["qianjin"] and not stage.skipped


def test_given_the_only_approver_is_the_applicant_when_skip_then_the_stage_is_skipped(resolve):
    stage = resolve("wangjianguo", approvers=["role:总经理"], on_self_approval="skip")
    assert stage.skipped and stage.approvers == []
    assert stage.notes == ["第 1 级审批人即申请人本人，按规则跳过该级"]


def test_given_self_approval_when_next_leader_then_the_applicants_leader_approves(resolve):
    stage = resolve("lina", approvers=["user:lina"], on_self_approval="next_leader")
    assert stage.approvers == ["zhoujie"]
    assert "已改由其上级 zhoujie 审批" in stage.notes[0]


def test_given_a_rule_that_would_keep_the_applicant_as_approver_then_the_rule_set_is_refused(resolve):
    with pytest.raises(ValidationError, match="on_self_approval"):
        resolve("lina", approvers=["user:lina"], on_self_approval="keep")


def test_given_the_applicant_among_several_approvers_then_only_the_others_decide(resolve):
    assert resolve("lina", approvers=["user:lina", "user:zhoujie"], on_self_approval="skip").approvers == ["zhoujie"]


def test_given_a_head_without_a_department_head_above_when_resolving_then_the_parent_head_approves(resolve):
    assert resolve("lina", approvers=["department_head"]).approvers == ["zhoujie"]
    assert resolve("xiaoli", approvers=["department_head"]).approvers == ["wangjianguo"]


def test_given_leader_levels_when_resolving_then_the_chain_is_walked(resolve):
    assert resolve("zhangsan", approvers=["leader:1"]).approvers == ["lina"]
    assert resolve("zhangsan", approvers=["leader:3"]).approvers == ["wangjianguo"]


def test_given_a_form_field_spec_when_resolving_then_known_users_from_the_form_approve(resolve):
    stage = resolve("zhangsan", {"reviewers": ["lisi", "ghost", "chenshi"]}, approvers=["form_field:reviewers"])
    assert stage.approvers == ["lisi"]  # ghost is unknown, chenshi has left


def test_given_nobody_resolves_when_escalate_to_leader_then_the_top_of_the_chain_approves(resolve):
    stage = resolve("zhangsan", approvers=["role:空角色"], on_unresolved="escalate_to_leader")
    assert stage.approvers == ["wangjianguo"]
    assert "已上报给上级 wangjianguo" in stage.notes[0]


def test_given_nobody_resolves_when_admin_then_the_admin_approves(resolve):
    stage = resolve("zhangsan", approvers=["leader:9"], on_unresolved="admin:liuyang")
    assert stage.approvers == ["liuyang"] and "管理员 liuyang" in stage.notes[0]


@pytest.mark.parametrize("rule", ["fail", "admin:ghost"])
def test_given_nobody_resolves_when_fail_or_unknown_admin_then_unresolved_approver(resolve, rule):
    with pytest.raises(UnresolvedApprover, match="role:空角色"):
        resolve("zhangsan", approvers=["role:空角色"], on_unresolved=rule)


def test_given_the_top_of_the_company_when_escalating_then_unresolved_approver(resolve):
    with pytest.raises(UnresolvedApprover):
        resolve("wangjianguo", approvers=["user:ghost"], on_unresolved="escalate_to_leader")


@pytest.mark.parametrize("spec", ["boss", "role:", "leader:0", "leader:x", "form_field:1a", "user:"])
def test_given_a_bad_approver_spec_when_validating_then_it_is_refused(spec):
    with pytest.raises(ValueError, match="approver spec"):
        Stage(name="x", approvers=[spec])
