"""Directory APIs: user/get, user/list, user/simplelist, department/list|get, tag/get|list."""

from __future__ import annotations

import pytest

from local.sandbox.directory import company_from_mapping


def test_given_user_when_getting_then_wecom_fields(api):
    body = api.get("user/get", userid="cfo")

    assert body["errcode"] == 0
    assert body["name"] == "财务总监"
    assert body["department"] == [4, 2]
    assert body["is_leader_in_dept"] == [1, 0]
    assert body["main_department"] == 4
    assert body["direct_leader"] == ["boss"]
    assert body["status"] == 1


CONTACT_FIELDS = {"mobile", "gender", "email", "biz_mail", "avatar", "thumb_avatar", "qr_code", "address"}


def test_given_app_created_after_2022_when_getting_user_then_no_contact_fields(api):
    body = api.get("user/get", userid="BOSS")

    assert body["errcode"] == 0
    assert not CONTACT_FIELDS & set(body)
    assert set(body) == {"errcode", "errmsg", "userid", "name", "department", "order", "position",
                         "is_leader_in_dept", "direct_leader", "status", "main_department"}


@pytest.mark.parametrize("path", ["user/list", "user/simplelist"])
def test_given_app_created_after_2022_when_listing_users_then_no_contact_fields(api, path):
    users = api.get(path, department_id=1, fetch_child=1)["userlist"]

    assert users
    assert all(not CONTACT_FIELDS & set(u) for u in users)


def test_given_legacy_contact_fields_flag_when_getting_user_then_contact_fields_from_yaml(make_api):
    body = make_api(legacy_contact_fields=True).get("user/get", userid="BOSS")

    assert (body["userid"], body["mobile"], body["email"], body["gender"]) == (
        "boss", "13900000001", "boss@example.com", "1")
    assert set(body) >= CONTACT_FIELDS


@pytest.mark.parametrize(("legacy", "has_mobile"), [(True, True), (False, False), (None, False)])
def test_given_legacy_contact_fields_in_yaml_when_getting_user_then_contact_fields_only_when_true(
        make_api, legacy, has_mobile):
    data = {"departments": [{"id": 1, "name": "公司"}],
            "users": [{"userid": "a", "name": "甲", "departments": [1], "mobile": "13800000000"}]}
    if legacy is not None:
        data["legacy_contact_fields"] = legacy
    api = make_api(company=company_from_mapping(data))

    assert ("mobile" in api.get("user/get", userid="a")) is has_mobile
    assert ("mobile" in api.get("user/list", department_id=1)["userlist"][0]) is has_mobile


@pytest.mark.parametrize("userid", ["ghost", None])
def test_given_unknown_user_when_getting_then_60111(api, userid):
    assert api.get("user/get", userid=userid)["errcode"] == 60111


@pytest.mark.parametrize(("fetch_child", "expected"), [(0, ["lead", "cfo"]), (1, ["lead", "dev1", "dev2", "cfo", "gone"])])
def test_given_department_when_listing_users_then_direct_or_recursive_members(api, fetch_child, expected):
    detailed = api.get("user/list", department_id=2, fetch_child=fetch_child)["userlist"]
    simple = api.get("user/simplelist", department_id=2, fetch_child=fetch_child)["userlist"]

    assert [u["userid"] for u in detailed] == expected
    assert [u["userid"] for u in simple] == expected
    assert set(simple[0]) == {"userid", "name", "department"}


@pytest.mark.parametrize(("path", "param"), [("user/list", "department_id"), ("user/simplelist", "department_id"),
                                             ("department/get", "id"), ("department/list", "id")])
def test_given_unknown_department_when_querying_then_60123(api, path, param):
    assert api.get(path, **{param: 99})["errcode"] == 60123
    assert api.get(path, **{param: "abc"})["errcode"] == 60123


def test_given_no_department_id_when_listing_users_then_40058(api):
    assert api.get("user/list")["errcode"] == 40058


def test_given_departments_when_listing_then_all_or_subtree_with_leaders(api):
    everything = api.get("department/list")["department"]
    subtree = api.get("department/list", id=2)["department"]

    assert [d["id"] for d in everything] == [1, 2, 3, 4]
    assert everything[0] == {"id": 1, "name": "测试公司", "parentid": 0, "order": 0, "department_leader": ["boss"]}
    assert [d["id"] for d in subtree] == [2, 3]


def test_given_department_when_getting_then_single_record(api):
    assert api.get("department/get", id=3)["department"]["parentid"] == 2


def test_given_tag_when_getting_then_users_and_parties(api):
    finance = api.get("tag/get", tagid=1)
    rd = api.get("tag/get", tagid=2)

    assert (finance["tagname"], finance["userlist"], finance["partylist"]) == (
        "财务", [{"userid": "cfo", "name": "财务总监"}], [])
    assert (rd["userlist"], rd["partylist"]) == ([], [2])


@pytest.mark.parametrize("tagid", [404, "财务", None])
def test_given_unknown_tag_when_getting_then_40068(api, tagid):
    assert api.get("tag/get", tagid=tagid)["errcode"] == 40068


def test_given_tags_when_listing_then_ids_and_names(api):
    assert api.get("tag/list")["taglist"] == [
        {"tagid": 1, "tagname": "财务"}, {"tagid": 2, "tagname": "研发"}, {"tagid": 3, "tagname": "空标签"}]
