"""HTTP routes of budgets: set a department's budget for a period, read what is left of it.
The service (and the directory check of the department) is imported on the first request."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from wecom_oa.budgets.models import DEPARTMENT_ID_MAX, DEPARTMENT_ID_MIN, SetBudget
from wecom_oa.http import ERRORS

router = Router()
TAG = ["budgets"]
DepartmentId = Annotated[int, Path(ge=DEPARTMENT_ID_MIN, le=DEPARTMENT_ID_MAX, description="WeCom department id")]
Period = Annotated[str | None, Query(min_length=4, max_length=7, description="`2026-11`, `2026-Q4` or `2026`; "
                                     "default: the current period")]


@router.put("/budgets/<department_id>", tags=TAG, summary="Set a department's budget", responses=ERRORS)
def set_budget(department_id: DepartmentId, body: Annotated[SetBudget, Body()]) -> dict[str, Any]:
    """For the current period or `period`, overriding `config/budgets.yaml`; money in CNY."""
    from wecom_oa.budgets import service

    return service.set_for(department_id, body)


@router.get("/budgets/<department_id>", tags=TAG, summary="A department's budget, spent and remaining",
            responses=ERRORS)
def get_budget(department_id: DepartmentId, period: Period = None) -> dict[str, Any]:
    """`{department_id, period, budget, spent, remaining, source}`; money as decimal strings."""
    from wecom_oa.budgets import service

    return service.status_of(department_id, period)
