"""WeComDirectory: the Directory port over the client, cached, NotFound for unknown ids."""

from __future__ import annotations

from datetime import timedelta

import pytest

from wecom_oa.directory import leader
from wecom_oa.errors import NotFound
from wecom_oa.wecom.directory import WeComDirectory


@pytest.fixture
def directory(client, clock):
    return WeComDirectory(client, clock=clock, ttl_seconds=600)


def test_given_repeated_lookups_then_one_call_each_until_ttl(directory, router, clock):
    for _ in range(3):
        assert directory.user("zhangsan").name == "张三"
        assert directory.department(2).leaders == ["lisi", "zhaoliu"]
    assert (router.count("user/get"), router.count("department/get")) == (1, 1)

    clock.advance(timedelta(seconds=601))
    directory.user("zhangsan")
    assert router.count("user/get") == 2


def test_given_domain_leader_rule_then_resolved_through_wecom(directory):
    assert leader(directory, "zhangsan") == "lisi"  # direct_leader wins


def test_given_tag_by_name_then_users_and_department_members_merged(directory, router):
    members = directory.tag_members("财务")

    assert members == ["qianqi", "lisi", "zhangsan"]
    assert router.of("tag/get")[0].params["tagid"] == "1"
    assert router.of("user/simplelist")[0].params == {"department_id": "2", "fetch_child": "1",
                                                      "access_token": "fixture-access-token-5c2f-g1"}


def test_given_unknown_ids_then_domain_not_found(directory, router):
    router.script("user/get", 60111)
    router.script("department/get", 60123)
    router.script("tag/get", 40068)

    with pytest.raises(NotFound):
        directory.user("ghost")
    with pytest.raises(NotFound):
        directory.department(999)
    with pytest.raises(NotFound):
        directory.tag_members(77)
    with pytest.raises(NotFound):
        directory.tag_members("不存在的标签")


def test_given_forget_then_next_lookup_calls_wecom(directory, router):
    directory.user("zhangsan")
    directory.forget()
    directory.user("zhangsan")
    assert router.count("user/get") == 2
