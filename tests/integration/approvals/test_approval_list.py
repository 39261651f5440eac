"""GET /approvals through the real submit and decision path: an applicant's approvals newest first,
a page at a time; an approval is listed under its approver and moves from the pending list to the
approved one when decided; its times are in the company's offset. (Pages, filters, bounded reads
and bad queries over many approvals: test_approval_pages.py.)"""

from __future__ import annotations

import re

from tests.integration.approvals.helpers import card_for, final, submit

OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00")


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


def test_given_an_approval_decided_on_its_card_then_it_moves_from_the_pending_list_to_the_approved_one(app) -> None:
    approval = submit(app, "expense", "zhangsan", {"amount": 300, "reason": "打车"})
    _, waiting = app.http("GET", "/approvals", query="approver=lina&status=pending")
    assert [a["id"] for a in waiting["approvals"]] == [approval["id"]]

    app.click("lina", card_for(app, approval["id"], "lina")["task_id"], "approve")
    done = final(app, approval["id"])

    assert done["status"] == "approved"
    _, pending = app.http("GET", "/approvals", query="status=pending")
    _, approved = app.http("GET", "/approvals", query="status=approved&type=expense")
    _, lina = app.http("GET", "/approvals", query="approver=lina")
    assert approval["id"] not in [a["id"] for a in pending["approvals"]]
    assert [a["id"] for a in approved["approvals"]] == [approval["id"]]
    assert [(a["id"], a["status"]) for a in lina["approvals"]] == [(approval["id"], "approved")]
    # Every time of the answers in the company's offset, to the second.
    assert OFFSET.fullmatch(approved["approvals"][0]["created_at"]), approved
    assert OFFSET.fullmatch(approved["approvals"][0]["decided_at"]), approved
    assert OFFSET.fullmatch(done["created_at"]) and OFFSET.fullmatch(done["decided_at"]), done
    [stage] = done["stages"]
    assert OFFSET.fullmatch(stage["decided_at"]) and all(OFFSET.fullmatch(d["at"]) for d in stage["decisions"]), stage


def test_given_a_bad_status_then_400_names_it(app) -> None:
    status, body = app.http("GET", "/approvals", query="status=sideways")
    assert status == 400 and body["error"]["details"][0]["field"] == "status"
