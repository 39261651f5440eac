"""Imports every module that registers HTTP routes (`wecom_oa.api.route`)."""

from wecom_oa.approvals import service as approvals  # noqa: F401 - imported for route registration
from wecom_oa.budgets import service as budgets  # noqa: F401
from wecom_oa.digests import service as digests  # noqa: F401
from wecom_oa.messaging import outbox  # noqa: F401
from wecom_oa.notices import service as notices  # noqa: F401
from wecom_oa.tasks import service as tasks  # noqa: F401
from wecom_oa.tickets import service as tickets  # noqa: F401
