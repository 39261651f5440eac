"""The HTTP API's routes and the module that serves each (it registers its handler with
`wecom_oa.api.route` when imported). The api function imports a module on the first request for one
of its routes, so a cold start loads only the feature it serves; tests/unit/api/test_route_table.py
checks this table against what the modules register."""

from __future__ import annotations

ROUTE_MODULES: list[tuple[str, str, str]] = [
    ("POST", "/approvals/evaluate", "wecom_oa.approvals.service"),
    ("POST", "/approvals", "wecom_oa.approvals.service"),
    ("GET", "/approvals/{id}", "wecom_oa.approvals.service"),
    ("POST", "/tickets", "wecom_oa.tickets.service"),
    ("GET", "/tickets/{id}", "wecom_oa.tickets.service"),
    ("POST", "/tickets/{id}/actions", "wecom_oa.tickets.service"),
    ("GET", "/tickets", "wecom_oa.tickets.service"),
    ("POST", "/notices", "wecom_oa.notices.service"),
    ("GET", "/notices/{id}", "wecom_oa.notices.service"),
    ("GET", "/notices", "wecom_oa.notices.service"),
    ("POST", "/tasks", "wecom_oa.tasks.service"),
    ("GET", "/tasks/{id}", "wecom_oa.tasks.service"),
    ("POST", "/tasks/{id}/done", "wecom_oa.tasks.service"),
    ("GET", "/tasks", "wecom_oa.tasks.service"),
    ("POST", "/progress", "wecom_oa.digests.service"),
    ("POST", "/reports", "wecom_oa.digests.service"),
    ("PUT", "/budgets/{department_id}", "wecom_oa.budgets.service"),
    ("GET", "/budgets/{department_id}", "wecom_oa.budgets.service"),
    ("GET", "/outbox/parked", "wecom_oa.messaging.outbox"),
    ("POST", "/outbox/parked/{id}/replay", "wecom_oa.messaging.outbox"),
]
