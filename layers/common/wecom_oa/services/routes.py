"""Imports every module that registers HTTP routes (`wecom_oa.services.api.route`)."""

from wecom_oa.services import approvals, budgets, digests, notices, outbox, tasks, tickets  # noqa: F401 - imported for route registration
