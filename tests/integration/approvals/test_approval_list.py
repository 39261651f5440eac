"""GET /approvals: an applicant's approvals newest first, a page at a time; every approval waiting
for a decision with status=pending; neither → 400 naming what to give."""

from __future__ import annotations

from tests.integration.approvals.helpers import submit


def test_given_an_applicants_approvals_then_they_are_listed_newest_first_in_pages(app) -> None:
    first = submit(app, "expense", "zhangsan", {"amount": 300, "reason": "打车"})
    second = submit(app, "expense", "zhangsan", {"amount": 5000, "reason": "展会"})
    submit(app, "expense", "lisi", {"amount": 200, "reason": "快递"})

    status, page = app.http("GET", "/approvals", query="applicant=zhangsan&limit=1")
    assert status == 200, page
    assert [a["id"] for a in page["approvals"]] == [second["id"]] and page["next_cursor"]
    _, rest = app.http("GET", "/approvals", query=f"applicant=zhangsan&limit=1&cursor={page['next_cursor']}")
    assert [a["id"] for a in rest["approvals"]] == [first["id"]]
    _, pending = app.http("GET", "/approvals", query="status=pending")
    assert {a["applicant"] for a in pending["approvals"]} == {"zhangsan", "lisi"}
    assert all(a["status"] == "pending" for a in pending["approvals"])


def test_given_no_applicant_nor_pending_then_400_names_the_parameter(app) -> None:
    status, body = app.http("GET", "/approvals")
    assert status == 400 and body["error"]["details"][0]["field"] == "applicant"
    status, body = app.http("GET", "/approvals", query="status=sideways")
    assert status == 400 and body["error"]["details"][0]["field"] == "status"
