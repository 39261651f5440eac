"""Tasks (待办) through the local app: created by another system, the owner messaged, shown in the
18:00 summary of its group until done; idempotent by external_id; 400/404 name the problem."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.integration.digests.support import shanghai

TASK = {"title": "提交结项报告", "owner": "zhangsan", "group": "proj-apollo", "due_at": "2025-10-13T17:00:00+08:00",
        "source": "erp"}


def _create(app, **overrides) -> tuple[int, dict]:
    return app.http("POST", "/tasks", {**TASK, **overrides})


def _summaries_with(app, needle: str) -> list[str]:
    return [m["content"] for m in app.messages()
            if m["msgtype"] == "markdown" and "待办汇总" in (m.get("content") or "") and needle in m["content"]]


def test_given_a_new_task_when_created_then_the_owner_is_messaged_with_due_time_and_link(local_app) -> None:
    status, task = _create(local_app)

    assert status == 201, task
    assert (task["status"], task["owner_name"], task["group"]) == ("open", "张三", "proj-apollo")
    assert task["link"] == f"https://oa.test/tasks/{task['id']}"
    cards = _cards_to(local_app, "zhangsan")
    assert len(cards) == 1 and [b["key"] for b in cards[0]["card"]["button_list"]] == ["done"]
    assert cards[0]["card"]["sub_title_text"] == f"【待办】提交结项报告，截止 2025-10-13 17:00。详情：{task['link']}"
    assert cards[0]["card"]["card_action"]["url"] == task["link"]


def test_given_a_task_card_when_the_owner_clicks_done_then_the_task_is_done_and_the_button_says_so(local_app) -> None:
    _, task = _create(local_app)
    card = _cards_to(local_app, "zhangsan")[0]

    local_app.click("zhangsan", card["task_id"], "done")

    _, after = local_app.http("GET", f"/tasks/{task['id']}")
    assert (after["status"], after["done_by"]) == ("done", "zhangsan")
    updates = [m for m in local_app.messages() if m["api"] == "message/update_template_card"
               and m["task_id"] == card["task_id"]]
    assert [u["replace_name"] for u in updates] == ["已完成"]


def _cards_to(app, userid: str) -> list[dict]:
    return [m for m in app.messages() if m["api"] == "message/send" and m["msgtype"] == "template_card"
            and m["recipients"]["userids"] == [userid]]


def test_given_an_open_task_when_the_summary_fires_then_it_is_listed_until_done(local_app, clock) -> None:
    _, task = _create(local_app)
    _, other = _create(local_app, title="更新客户台账")
    clock.set(shanghai("2025-10-10 18:00"))

    local_app.stack.fire("daily-summary")

    assert len(_summaries_with(local_app, task["link"])) == 1
    assert "提交结项报告" in _summaries_with(local_app, task["link"])[0]

    status, closed = local_app.http("POST", f"/tasks/{task['id']}/done", {"by": "zhangsan"})
    assert status == 200, closed
    assert (closed["status"], closed["done_by"]) == ("done", "zhangsan") and closed["done_at"]
    _, listed = local_app.http("GET", "/tasks", query="group=proj-apollo&status=open")
    assert [t["id"] for t in listed["items"]] == [other["id"]]

    clock.set(shanghai("2025-10-11 18:00"))  # 调休 make-up Saturday: a workday, the next summary
    local_app.stack.fire("daily-summary")

    assert len(_summaries_with(local_app, task["link"])) == 1  # only the first day's
    assert len(_summaries_with(local_app, other["link"])) == 2


def test_given_a_done_task_when_done_again_then_it_is_returned_unchanged(local_app, clock) -> None:
    _, task = _create(local_app)
    _, first = local_app.http("POST", f"/tasks/{task['id']}/done", {"by": "zhangsan"})
    clock.advance(timedelta(minutes=5))

    status, again = local_app.http("POST", f"/tasks/{task['id']}/done")

    assert status == 200
    assert (again["done_by"], again["done_at"]) == ("zhangsan", first["done_at"])


def test_given_an_external_id_when_the_same_task_is_posted_twice_then_one_task_and_one_message(local_app) -> None:
    status1, first = _create(local_app, external_id="erp:PRJ-204-closing")
    status2, second = _create(local_app, external_id="erp:PRJ-204-closing", title="retry from the ERP")

    assert (status1, status2) == (201, 200)
    assert second["id"] == first["id"] and second["title"] == "提交结项报告"
    _, listed = local_app.http("GET", "/tasks", query="group=proj-apollo")
    assert listed["count"] == 1
    assert len(_cards_to(local_app, "zhangsan")) == 1


@pytest.mark.parametrize(("overrides", "field"), [
    ({"group": "proj-unknown"}, "group"),
    ({"owner": "nobody"}, "owner"),
    ({"due_at": "2025-10-13T17:00:00"}, "due_at"),
    ({"title": ""}, "title"),
    ({"priority": "P1"}, "priority"),
])
def test_given_an_invalid_task_when_posted_then_400_names_the_field(local_app, overrides, field) -> None:
    status, body = _create(local_app, **overrides)

    assert status == 400, body
    assert field in [d["field"] for d in body["error"]["details"]]
    assert _cards_to(local_app, "zhangsan") == []


@pytest.mark.parametrize(("query", "field"), [
    ("", "group"), ("group=proj-unknown", "group"), ("group=proj-apollo&status=finished", "status"),
    ("group=proj-apollo&limit=0", "limit"), ("group=proj-apollo&limit=101", "limit"),
    ("group=proj-apollo&limit=ten", "limit"), ("group=proj-apollo&cursor=bm90LWEtY3Vyc29y", "cursor"),
    ("group=proj-apollo&cursor=%25%25", "cursor"),
])
def test_given_a_bad_list_query_when_listing_then_400_names_the_parameter(local_app, query, field) -> None:
    status, body = local_app.http("GET", "/tasks", query=query)

    assert status == 400, body
    assert field in [d["field"] for d in body["error"]["details"]]


@pytest.mark.parametrize(("method", "path"), [("GET", "/tasks/TK-missing"), ("POST", "/tasks/TK-missing/done")])
def test_given_an_unknown_task_when_read_or_done_then_404(local_app, method, path) -> None:
    status, body = local_app.http(method, path)

    assert status == 404, body
    assert body["error"]["code"] == "not_found"
