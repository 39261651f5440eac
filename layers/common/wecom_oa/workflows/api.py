"""HTTP routes of task workflows: start one from another system (the HR system on signing), read
its progress, mark a task done, cancel it. The service is imported on the first request."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from wecom_oa.http import ERRORS, created, created_doc
from wecom_oa.workflows.models import CancelWorkflow, StartWorkflow, StepDone

router = Router()
TAG = ["workflows"]
WorkflowId = Annotated[str, Path(min_length=1, max_length=80, description="workflow id (`WF…`)")]
StepKey = Annotated[str, Path(min_length=1, max_length=40, description="task key of the template")]


@router.post("/workflows", tags=TAG, summary="Start a workflow from a template", responses={**created_doc(), **ERRORS})
def start(body: Annotated[StartWorkflow, Body()]) -> Response[dict[str, Any]]:
    """Every role must resolve to an active member and the subject must be complete, else 400
    naming it and nothing is stored. The tasks without prerequisites are sent at once."""
    from wecom_oa.workflows import service

    return created(service.start(body))


@router.get("/workflows/<id>", tags=TAG, summary="A workflow's tasks, progress and critical path", responses=ERRORS)
def get_workflow(id: WorkflowId) -> dict[str, Any]:
    from wecom_oa.workflows import service

    return service.view(id)


@router.post("/workflows/<id>/tasks/<key>/done", tags=TAG, summary="Mark a workflow task done", responses=ERRORS)
def done(id: WorkflowId, key: StepKey, body: Annotated[StepDone | None, Body()] = None) -> dict[str, Any]:
    """The tasks waiting only for it are unlocked and sent; a locked task answers 409."""
    from wecom_oa.workflows import service

    return service.done_step(id, key, body.by if body else None)


@router.post("/workflows/<id>/cancel", tags=TAG, summary="Cancel a workflow (its open tasks' owners are told once)",
             responses=ERRORS)
def cancel(id: WorkflowId, body: Annotated[CancelWorkflow | None, Body()] = None) -> dict[str, Any]:
    from wecom_oa.workflows import service

    return service.cancel(id, body.by if body else None)
