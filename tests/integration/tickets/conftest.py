from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws

from wecom_oa.aws.dynamo import DynamoTable
from wecom_oa.tickets.domain import NewTicket, TicketCatalog, load_catalog, open_ticket
from wecom_oa.tickets.store import TicketRepository

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
TABLE = "wecom-oa-test"


class SerializedClient:
    """Makes each moto call atomic, as each DynamoDB request is. moto 5.2.5 neither locks a
    transaction nor isolates its rollback (it restores a deep copy of the whole table), so two
    threads in the same moto backend could otherwise interleave *inside* one request. Only whole
    requests are serialised: races between a read and a later write stay possible, as on AWS."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return call


@pytest.fixture
def table(monkeypatch) -> DynamoTable:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"}
                                  for n in ("pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[
                {"IndexName": gsi, "Projection": {"ProjectionType": "ALL"},
                 "KeySchema": [{"AttributeName": f"{gsi}pk", "KeyType": "HASH"},
                               {"AttributeName": f"{gsi}sk", "KeyType": "RANGE"}]}
                for gsi in ("gsi1", "gsi2")
            ],
        )
        yield DynamoTable(TABLE, SerializedClient(client))


@pytest.fixture
def repo(table) -> TicketRepository:
    return TicketRepository(table)


@pytest.fixture(scope="session")
def catalog() -> TicketCatalog:
    return load_catalog()


@pytest.fixture
def created(repo, catalog):
    """Create an inquiry ticket `ticket_id` in the table and return its outcome."""

    def _create(ticket_id: str = "T1", type_: str = "inquiry", fields: dict | None = None):
        request = NewTicket(type=type_, title="发票咨询", reporter="reporter1",
                            fields=fields if fields is not None else {"question": "发票怎么开？"})
        outcome = open_ticket(catalog, request, ticket_id=ticket_id, now=T0)
        repo.create(outcome.ticket, outcome.entry)
        return outcome

    return _create
