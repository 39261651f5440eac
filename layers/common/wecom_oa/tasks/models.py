"""HTTP bodies of the tasks (待办) API.

- `POST /tasks` takes `CreateTaskRequest` → 201 `TaskView` (200 with the existing task when its
  `external_id` was seen before).
- `POST /tasks/{id}/done` takes `DoneRequest` (body optional) → 200 `TaskView`.
- `GET /tasks?group=&status=&limit=&cursor=` → 200 `TaskList`, one page (`wecom_oa.paging`).

Failures (mapped once by `wecom_oa.http`) name the field in `details`: a `due_at` without a UTC
offset, unknown keys; an unknown `group` (not in digests.yaml) and an unknown `owner` (not in the
directory) are named by the service.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field

from wecom_oa.validation import Model

Userid = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]
TaskStatus = Literal["open", "done", "cancelled"]


class CreateTaskRequest(Model):
    """`{title, owner, group, due_at?, description?, source?, external_id?}`. `external_id` is the
    calling system's id of the to-do: sending it again returns the task created the first time.
    External ids are global; prefix them with the system's name (e.g. `erp:PO-17`)."""

    model_config = ConfigDict(
        extra="forbid", str_strip_whitespace=True,
        json_schema_extra={"examples": [{
            "title": "Q3 project closing report", "owner": "zhangsan", "group": "service-desk",
            "due_at": "2026-11-25T18:00:00+08:00", "source": "erp", "external_id": "erp:PRJ-204-closing",
        }]},
    )

    title: str = Field(min_length=1, max_length=200)
    owner: Userid
    group: str = Field(min_length=1, max_length=64)
    due_at: AwareDatetime | None = None
    description: str | None = Field(None, max_length=2000)
    source: str | None = Field(None, min_length=1, max_length=64)
    external_id: str | None = Field(None, min_length=1, max_length=200)


class DoneRequest(Model):
    """`{by?}`: who finished it (a userid), recorded as `done_by`."""

    model_config = ConfigDict(extra="forbid")
    by: Userid | None = None


class TaskView(Model):
    """A stored task as the API returns it; `link` is the same URL the daily summary shows."""

    model_config = ConfigDict(extra="ignore")
    id: str
    title: str
    owner: str
    owner_name: str | None = None
    group: str
    status: TaskStatus
    due_at: datetime | None = None
    description: str | None = None
    source: str | None = None
    external_id: str | None = None
    created_at: datetime
    done_at: datetime | None = None
    done_by: str | None = None
    cancelled_at: datetime | None = None
    cancelled_by: str | None = None
    link: str | None = None


class TaskList(Model):
    """One page of a group's tasks in one status; `next_cursor` null: the list ends here."""

    group: str
    status: TaskStatus
    count: int
    items: list[TaskView]
    next_cursor: str | None = None
