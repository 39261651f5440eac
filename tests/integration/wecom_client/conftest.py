"""moto-backed application table for the DynamoDB token store and send ledger."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from moto import mock_aws

from wecom_oa.aws.dynamo import DynamoTable

TABLE = "wecom-oa-test"


class SerializedClient:
    """DynamoDB applies each conditional write atomically; moto's in-process backend does not lock,
    so concurrent threads can both pass one condition. Serializing calls restores the service's
    per-item atomicity (what the code under test relies on) without changing any single call."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attr(*args, **kwargs)

        return call


@pytest.fixture
def table(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        yield DynamoTable(TABLE, client=SerializedClient(client))
