"""HR onboarding as the people meet it: the HR system starts it on Monday 09:00; each person gets
their to-do card only when what it waits for is done; IT's overdue mailbox is in the project
group's 18:00 summary and IT is reminded at 10:00 the next workday; when the last task is done on
Tuesday, HR is told, with the business time it took; the new hire got a welcome with the mentor
and leader by name. An approved 入职申请 starts the same workflow once."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

PEOPLE = ["liuyang", "lisi", "sunli", "lina", "wufang", "wangwu"]


def _cards(company, userid: str) -> list[str]:
    return [e["text"] for e in company.inbox(userid) if e.get("task_id")]


def test_an_onboarding_unlocks_in_order_shows_the_overdue_it_task_and_tells_hr_when_done(start_company) -> None:
    company = start_company("2026-12-07T08:50:00+08:00", people=PEOPLE, robots=["project-group"])
    wf = company.api("POST", "/workflows", {"template": "onboarding", "subject": {"new_hire": "wangwu"},
                                            "assignments": {"mentor": "lina"},
                                            "starts_at": "2026-12-07T09:00:00+08:00", "source": "hr"}, expect=201)
    welcome = company.texts("wangwu")
    assert any("入职指引" in t and "李娜" in t and "吴芳" in t for t in welcome), welcome
    assert [c for c in _cards(company, "liuyang") if "签署劳动合同" in c]
    assert _cards(company, "lisi") == [] and _cards(company, "sunli") == []  # they wait for the contract

    company.until("2026-12-07T09:30:00+08:00")
    company.click("liuyang", company.card("liuyang", "签署劳动合同")["task_id"], "done")
    assert [c for c in _cards(company, "lisi") if "开通企业邮箱" in c]
    assert len(_cards(company, "sunli")) == 3  # badge, laptop, desk
    assert not [c for c in _cards(company, "lisi") if "开通系统账号" in c]  # waits for the mailbox

    for userid, key in (("sunli", "badge"), ("sunli", "laptop"), ("sunli", "desk"), ("lina", "mentor")):
        company.api("POST", f"/workflows/{wf['id']}/tasks/{key}/done", {"by": userid}, expect=200)
    company.until("2026-12-07T18:05:00+08:00")
    summaries = [e["text"] for e in company.robot("project-group") if "今日待办汇总" in e["text"]]
    assert summaries, company.transcript("robots", "project-group")
    mailbox = [line for line in summaries[-1].splitlines() if "开通企业邮箱" in line]
    assert mailbox and "已超期" in mailbox[0] and "<@lisi>" in mailbox[0], summaries[-1]  # a risk, and open
    assert not [line for line in summaries[-1].splitlines() if "制作工牌" in line]  # done: gone

    company.until("2026-12-08T10:05:00+08:00")  # the 10:00 reminder of overdue tasks, to their owners
    reminded = [t for t in company.texts("lisi") if "已超过截止时间" in t]
    assert len(reminded) == 1 and "开通企业邮箱" in reminded[0], company.texts("lisi")
    assert not [t for t in company.texts("sunli") if "已超过截止时间" in t]  # hers are done
    company.click("lisi", company.card("lisi", "开通企业邮箱")["task_id"], "done")
    company.click("lisi", company.card("lisi", "开通系统账号")["task_id"], "done")
    for userid, key in (("wangwu", "handbook"), ("wangwu", "training"), ("liuyang", "social"), ("wufang", "plan")):
        company.api("POST", f"/workflows/{wf['id']}/tasks/{key}/done", {"by": userid}, expect=200)
    assert not [t for t in company.texts("liuyang") if "全部完成" in t]
    company.api("POST", f"/workflows/{wf['id']}/tasks/review/done", {"by": "wufang"}, expect=200)

    done = company.api("GET", f"/workflows/{wf['id']}")
    assert done["status"] == "completed" and done["progress"] == {"done": 12, "total": 12}
    told = [t for t in company.texts("liuyang") if "全部完成" in t]
    assert len(told) == 1 and "王五" in told[0] and "工作时间" in told[0], told


def test_an_approved_onboarding_request_starts_the_workflow_once(start_company) -> None:
    company = start_company("2026-12-07T09:00:00+08:00", people=["liuyang", "wangjianguo", "wangwu"])
    request = company.api("POST", "/approvals", {"type": "onboarding", "applicant": "liuyang", "form": {
        "new_hire": "wangwu", "mentor": "lina", "start_date": "2026-12-08"}}, expect=201)
    assert not [c for c in _cards(company, "liuyang") if "签署劳动合同" in c]  # not before the approval

    company.click("wangjianguo", company.card("wangjianguo", "入职申请")["task_id"], "approve")

    assert company.api("GET", f"/approvals/{request['id']}")["status"] == "approved"
    wf = company.api("GET", f"/workflows/WF-onboarding-{request['id']}")
    assert wf["status"] == "running" and wf["subject"] == {"new_hire": "wangwu"}
    assert wf["tasks"][0]["due_at"] == "2026-12-08T11:00:00+08:00"  # from 09:00 on the start date
    assert len([c for c in _cards(company, "liuyang") if "签署劳动合同" in c]) == 1
    assert len([t for t in company.texts("wangwu") if "入职指引" in t]) == 1
