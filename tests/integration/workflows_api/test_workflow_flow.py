"""Task workflows through the local app: an onboarding starts with the tasks that wait for
nothing, each task done unlocks those that waited only for it (once), a locked task cannot be
done, the owner (HR) is told when all are done, cancelling tells the owners of open tasks once;
bad input names the problem and stores nothing."""

from __future__ import annotations

import pytest

from wecom_oa.aws.dynamo import app_table

START = {"template": "onboarding", "subject": {"new_hire": "wangwu"}, "assignments": {"mentor": "lina"},
         "starts_at": "2026-12-07T09:00:00+08:00", "source": "hr"}


def _start(app, **changes) -> tuple[int, dict]:
    return app.http("POST", "/workflows", {**START, **changes})


def _states(workflow: dict) -> dict[str, str]:
    return {t["key"]: t["state"] for t in workflow["tasks"]}


def _cards(app, userid: str) -> list[dict]:
    return [m for m in app.messages() if m["msgtype"] == "template_card" and userid in m["recipients"]["userids"]]


def _texts(app, userid: str) -> list[str]:
    return [m["content"] for m in app.messages() if m["msgtype"] == "text" and userid in m["recipients"]["userids"]]


def _done(app, workflow: dict, key: str) -> dict:
    status, body = app.http("POST", f"/workflows/{workflow['id']}/tasks/{key}/done", {"by": _owner(workflow, key)})
    assert status == 200, body
    app.stack.drain()
    return body


def _owner(workflow: dict, key: str) -> str:
    return next(t["owner"] for t in workflow["tasks"] if t["key"] == key)


def test_given_an_onboarding_when_started_then_only_the_first_task_is_sent_and_the_new_hire_welcomed(local_app) -> None:
    status, wf = _start(local_app)

    assert status == 201, wf
    assert _states(wf)["contract"] == "open"
    assert {k for k, s in _states(wf).items() if s == "open"} == {"contract"}
    assert _owner(wf, "contract") == "liuyang" and _owner(wf, "mentor") == "lina"
    assert _owner(wf, "plan") == "wufang"  # the new hire's leader, from the directory
    assert wf["tasks"][0]["due_at"] == "2026-12-07T11:00:00+08:00"  # 2 business hours after Monday 09:00
    assert len(_cards(local_app, "liuyang")) == 1 and _cards(local_app, "lisi") == []
    welcome = _texts(local_app, "wangwu")
    assert len(welcome) == 1 and "王五" in welcome[0] and "李娜" in welcome[0] and "吴芳" in welcome[0]


def test_given_tasks_done_in_order_then_each_unlocks_its_successors_once_and_hr_is_told_at_the_end(local_app) -> None:
    _, wf = _start(local_app)

    wf = _done(local_app, wf, "contract")
    assert {k for k, s in _states(wf).items() if s == "open"} == {"badge", "mailbox", "laptop", "desk", "mentor", "social"}
    assert len(_cards(local_app, "lisi")) == 1  # IT: mailbox only; accounts waits for it
    wf = _done(local_app, wf, "mailbox")
    assert _states(wf)["accounts"] == "open" and _states(wf)["training"] == "locked"
    for key in ("accounts", "laptop", "handbook", "training", "desk", "badge", "social", "mentor", "plan"):
        wf = _done(local_app, wf, key)
    assert _states(wf)["review"] == "open" and wf["status"] == "running"
    assert not [t for t in _texts(local_app, "liuyang") if "全部完成" in t]
    wf = _done(local_app, wf, "review")

    assert wf["status"] == "completed" and wf["progress"] == {"done": 12, "total": 12}
    told = [t for t in _texts(local_app, "liuyang") if "全部完成" in t]
    assert len(told) == 1 and "12 项任务" in told[0] and "王五" in told[0]
    assert len(_cards(local_app, "wangwu")) == 2  # handbook, training: each sent once
    assert len(_cards(local_app, "lisi")) == 2  # mailbox, accounts


def test_given_a_task_card_click_then_the_workflow_moves_on(local_app) -> None:
    _, wf = _start(local_app)
    card = _cards(local_app, "liuyang")[0]

    local_app.click("liuyang", card["task_id"], "done")

    _, wf = local_app.http("GET", f"/workflows/{wf['id']}")
    assert _states(wf)["contract"] == "done" and _states(wf)["mailbox"] == "open"


def test_given_a_locked_task_when_done_then_409_names_what_it_waits_for(local_app) -> None:
    _, wf = _start(local_app)

    status, body = local_app.http("POST", f"/workflows/{wf['id']}/tasks/accounts/done", {"by": "lisi"})

    assert status == 409 and body["error"]["details"]["waiting_for"] == ["mailbox"]


def test_given_a_cancelled_workflow_then_open_tasks_are_cancelled_and_their_owners_told_once(local_app) -> None:
    _, wf = _start(local_app)
    wf = _done(local_app, wf, "contract")

    status, wf = local_app.http("POST", f"/workflows/{wf['id']}/cancel", {"by": "liuyang"})
    local_app.stack.drain()

    assert status == 200 and wf["status"] == "cancelled"
    assert set(_states(wf).values()) == {"done", "cancelled"}
    told = [t for t in _texts(local_app, "lisi") if "已取消" in t]
    assert len(told) == 1 and "开通企业邮箱" in told[0]
    assert local_app.http("POST", f"/workflows/{wf['id']}/cancel", {})[0] == 409
    _, task = local_app.http("GET", f"/tasks/{next(t['task_id'] for t in wf['tasks'] if t['key'] == 'mailbox')}")
    assert task["status"] == "cancelled"


@pytest.mark.parametrize(("changes", "field"), [
    ({"template": "offboarding"}, "template"),
    ({"subject": {}}, "subject.new_hire"),
    ({"subject": {"new_hire": "ghost"}}, "subject.new_hire"),
    ({"assignments": {}}, "assignments.mentor"),
    ({"assignments": {"mentor": "lina", "buddy": "lisi"}}, "assignments.buddy"),
    ({"starts_at": "2026-12-07T09:00:00"}, "starts_at"),
])
def test_given_bad_input_when_starting_then_400_names_it_and_nothing_is_stored(local_app, changes, field) -> None:
    status, body = _start(local_app, **changes)

    assert status == 400, body
    assert body["error"]["message"].startswith(field), body
    table = app_table()
    keys = [i["pk"]["S"] for i in table.client.scan(TableName=table.name)["Items"]]
    assert not [k for k in keys if k.startswith(("WORKFLOW#", "TASK#"))]
    assert _cards(local_app, "liuyang") == []


def test_given_two_prerequisites_finishing_at_the_same_instant_then_their_successor_is_unlocked_once(local_app) -> None:
    import threading

    from wecom_oa.workflows import service

    _, wf = _start(local_app)
    for key in ("contract", "mailbox", "accounts", "laptop"):
        if key in ("accounts", "laptop"):
            continue
        wf = _done(local_app, wf, key)
    steps = {t["key"]: t for t in wf["tasks"]}
    from wecom_oa.tasks import service as tasks

    tasks.done(steps["accounts"]["task_id"], "lisi")  # both closed; their events race (each delivered twice)
    tasks.done(steps["laptop"]["task_id"], "sunli")
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def deliver(key: str) -> None:
        try:
            barrier.wait()
            service.on_task_closed({"status": "done", "by": None, "ref": {"workflow_id": wf["id"], "step": key}})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver, args=(k,)) for k in ("accounts", "laptop", "accounts", "laptop")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    local_app.stack.drain()  # the queued events too: a third and fourth delivery

    assert errors == []
    _, wf = local_app.http("GET", f"/workflows/{wf['id']}")
    assert _states(wf)["training"] == "open"
    assert len([c for c in _cards(local_app, "wangwu") if "入职培训" in c["card"]["main_title"]["title"]]) == 1
