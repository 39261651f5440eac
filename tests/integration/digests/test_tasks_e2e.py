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


def _walk_tasks(app, query: str, limit: int) -> list[list[dict]]:
    pages, cursor = [], None
    while True:
        status, page = app.http("GET", "/tasks", query=f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert status == 200, page
        assert len(page["items"]) <= limit and page["count"] == len(page["items"])
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None or len(pages) > 20:
            return pages


def test_given_tasks_in_every_status_when_listed_by_status_then_each_comes_once_in_pages(local_app, clock) -> None:
    ids = []
    for day in range(7):
        _, task = _create(local_app, title=f"任务{day}", due_at=f"2025-10-{13 + day}T17:00:00+08:00")
        ids.append(task["id"])
    for task_id in ids[1:4]:  # done one after another: the last done is listed first
        clock.advance(timedelta(minutes=10))
        assert local_app.http("POST", f"/tasks/{task_id}/done", {"by": "zhangsan"})[0] == 200
    from wecom_oa.tasks import service

    clock.advance(timedelta(minutes=10))
    assert service.cancel(ids[6], "lina")

    open_pages = _walk_tasks(local_app, "group=proj-apollo&status=open", limit=2)
    done_pages = _walk_tasks(local_app, "group=proj-apollo&status=done", limit=2)
    cancelled = _walk_tasks(local_app, "group=proj-apollo&status=cancelled", limit=2)
    default = local_app.http("GET", "/tasks", query="group=proj-apollo")[1]

    assert [t["id"] for p in open_pages for t in p] == [ids[0], ids[4], ids[5]]  # earliest due first
    assert [t["id"] for p in done_pages for t in p] == [ids[3], ids[2], ids[1]]  # most recently done first
    assert [t["id"] for p in cancelled for t in p] == [ids[6]]
    assert [t["id"] for t in default["items"]] == [ids[0], ids[4], ids[5]] and default["status"] == "open"
    done = done_pages[0][0]
    assert (done["status"], done["done_by"]) == ("done", "zhangsan")
    # Times in the company's offset, as due_at was sent.
    assert done["due_at"] == "2025-10-16T17:00:00+08:00"
    assert done["created_at"] == "2025-10-10T17:59:00+08:00" and done["done_at"] == "2025-10-10T18:29:00+08:00"
    assert cancelled[0][0]["cancelled_at"] == "2025-10-10T18:39:00+08:00"
    got = local_app.http("GET", f"/tasks/{ids[3]}")[1]
    assert (got["created_at"], got["done_at"]) == (done["created_at"], done["done_at"])


def test_given_a_due_time_in_any_offset_then_it_is_taken_and_answered_in_the_company_offset(local_app) -> None:
    status, task = _create(local_app, due_at="2025-10-13T09:00:00Z")

    assert status == 201, task
    assert task["due_at"] == "2025-10-13T17:00:00+08:00"


def test_given_a_cursor_of_another_status_then_it_is_refused(local_app, clock) -> None:
    for day in range(3):
        _, task = _create(local_app, title=f"任务{day}")
        local_app.http("POST", f"/tasks/{task['id']}/done", {})
    cursor = local_app.http("GET", "/tasks", query="group=proj-apollo&status=done&limit=1")[1]["next_cursor"]
    assert cursor

    status, body = local_app.http("GET", "/tasks", query=f"group=proj-apollo&status=open&cursor={cursor}")

    assert status == 400 and body["error"]["message"].startswith("cursor"), body
