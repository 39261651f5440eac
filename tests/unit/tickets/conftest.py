from __future__ import annotations

from datetime import UTC, datetime

import pytest

from wecom_oa.tickets.domain import NewTicket, Outcome, TicketCatalog, load_catalog, open_ticket

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # Monday 09:00 Asia/Shanghai


@pytest.fixture(scope="session")
def catalog() -> TicketCatalog:
    return load_catalog()


@pytest.fixture(scope="session")
def open_new(catalog: TicketCatalog):
    """Open a ticket of `type_` with `fields` at T0 (id T1)."""

    def _open(type_: str = "inquiry", fields: dict | None = None, **kw) -> Outcome:
        fields = {"question": "发票怎么开？"} if fields is None and type_ == "inquiry" else (fields or {})
        request = NewTicket(type=type_, title="测试工单", reporter="reporter1", fields=fields, **kw)
        return open_ticket(catalog, request, ticket_id="T1", now=T0)

    return _open
