"""Native WeCom approvals (审批应用) on the local app: virtual clock of tests/integration/approvals."""

from tests.integration.approvals.helpers import app, fast_rules  # noqa: F401 - fixtures
