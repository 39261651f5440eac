"""HTTP bodies of the workflows API.

- `POST /workflows` takes `StartWorkflow` → 201 the workflow (`service.view`).
- `POST /workflows/{id}/tasks/{key}/done` takes `StepDone` (optional) → 200 the workflow; a locked
  task answers 409 `illegal_transition` naming what it waits for.
- `POST /workflows/{id}/cancel` takes `CancelWorkflow` (optional) → 200 the workflow.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, ConfigDict, Field

from wecom_oa.validation import Model

Userid = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")]


class StartWorkflow(Model):
    """`{template, subject, starts_at?, assignments?, source?}`: `subject` holds the template's
    subject fields (onboarding: `new_hire`, a userid); `assignments` the people of the roles the
    template leaves to the caller (onboarding: `mentor`; product_iteration: `pm`, `design`, `dev`,
    `test`); `starts_at` (with offset) is where the business-time due dates count from."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [
        {"template": "onboarding", "subject": {"new_hire": "wangwu"}, "assignments": {"mentor": "lina"},
         "starts_at": "2026-12-07T09:00:00+08:00", "source": "hr"},
        {"template": "product_iteration", "subject": {"iteration": "v2.3 门店巡检"},
         "assignments": {"pm": "fengtao", "design": "sunxiaomei", "dev": "zhangsan", "test": "lisi"}},
    ]})

    template: str = Field(min_length=1, max_length=40)
    subject: dict[Annotated[str, Field(max_length=40)], Annotated[str, Field(min_length=1, max_length=200)]] = \
        Field(default_factory=dict, max_length=10)
    assignments: dict[Annotated[str, Field(max_length=40)], Userid] = Field(default_factory=dict, max_length=20)
    starts_at: AwareDatetime | None = None
    source: str | None = Field(None, min_length=1, max_length=64)


class StepDone(Model):
    model_config = ConfigDict(extra="forbid")
    by: Userid | None = None


class CancelWorkflow(Model):
    model_config = ConfigDict(extra="forbid")
    by: Userid | None = None
