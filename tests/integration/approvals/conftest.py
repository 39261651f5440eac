"""Approvals on the local app with a scaled virtual clock (stage timeouts pass in seconds)."""

from tests.integration.approvals.helpers import app, fast_rules  # noqa: F401 - fixtures
