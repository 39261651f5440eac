"""HTTP routes of tasks (待办): create one (idempotent by `external_id`), read one, mark it done,
list a project group's tasks by status, a page at a time. The service is imported on the first request."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from wecom_oa.http import ERRORS, created, created_doc, ok_doc
from wecom_oa.paging import PAGE_LIMIT_DEFAULT, PageCursor, PageLimit
from wecom_oa.tasks.models import CreateTaskRequest, DoneRequest, TaskList, TaskStatus, TaskView

router = Router()
TAG = ["tasks"]
TaskId = Annotated[str, Path(min_length=1, max_length=80, description="task id (`TK…`)")]


@router.post("/tasks", tags=TAG, summary="Create a task (the same external_id: the task created the first time)",
             responses={**created_doc(TaskView), **ok_doc(TaskView, "seen before: the existing task"), **ERRORS})
def create_task(body: Annotated[CreateTaskRequest, Body()]) -> Response[dict[str, Any]]:
    """The owner gets it as a WeCom to-do card; it shows in the group's 18:00 summary until done."""
    from wecom_oa.tasks import service

    is_new, task = service.create(body)
    return created(task, 201 if is_new else 200)


@router.get("/tasks/<id>", tags=TAG, summary="A task", responses={**ok_doc(TaskView), **ERRORS})
def get_task(id: TaskId) -> dict[str, Any]:
    from wecom_oa.tasks import service

    return service.get(id)


@router.post("/tasks/<id>/done", tags=TAG, summary="Mark a task done (body optional)",
             responses={**ok_doc(TaskView), **ERRORS})
def done(id: TaskId, body: Annotated[DoneRequest | None, Body()] = None) -> dict[str, Any]:
    from wecom_oa.tasks import service

    return service.done_by(id, body)


@router.get("/tasks", tags=TAG, summary="A project group's tasks in one status, a page at a time",
            responses={**ok_doc(TaskList), **ERRORS})
def list_tasks(
    group: Annotated[str, Query(min_length=1, max_length=64, description="project group id (digests.yaml)")],
    status: Annotated[TaskStatus, Query(description="`open` (earliest due first), `done` or `cancelled` "
                                                    "(most recently closed first)")] = "open",
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> dict[str, Any]:
    from wecom_oa.tasks import service

    return service.list_page(group, status, limit, cursor)
