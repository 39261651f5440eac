"""The same (source, dedup_key) is one alert even when two requests race for it, and a key whose
alert was resolved opens a new one: the claim on the key is a conditional write, so the loser of
a race stores nothing of its own and counts as a repeat."""

from __future__ import annotations

from wecom_oa.alerts import service
from wecom_oa.alerts.models import AlertIn
from wecom_oa.aws.dynamo import Keys, app_table


def _low_stock(key: str = "njl-A1001", stock: int = 3) -> AlertIn:
    return AlertIn(source="WMS", type="库存不足", dedup_key=key, labels={"store": "上海南京路店"},
                   fields={"SKU": "A1001", "当前库存": stock, "安全库存": 20, "补货建议": "补货 50 件"})


def _alerts() -> list[dict]:
    items = app_table().client.scan(TableName=app_table().name)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("ALERT#")]


def test_given_a_request_that_lost_the_race_for_the_key_then_it_is_a_repeat_not_a_second_alert(
        local_app, monkeypatch) -> None:
    status, first = service.ingest(_low_stock())
    assert status == 201
    table = app_table()
    real_get = type(table).get
    hidden = {"once": True}

    def stale_get(self, key, **kw):  # the second request read the key before the first had claimed it
        if key == Keys.alert_dedup("WMS", "njl-A1001") and hidden["once"]:
            hidden["once"] = False
            return None
        return real_get(self, key, **kw)

    monkeypatch.setattr(type(table), "get", stale_get)
    status, second = service.ingest(_low_stock(stock=2))
    assert (status, second["id"], second["repeat"], second["count"]) == (200, first["id"], True, 2)
    assert len(_alerts()) == 1, "the loser's own alert item was removed"
    assert service.get(first["id"])["fields"]["当前库存"] == 2


def test_given_a_resolved_alert_then_the_same_key_opens_a_new_incident(local_app) -> None:
    _, first = service.ingest(_low_stock())
    service.resolve(first["id"], "zhoujie")
    assert service.get(first["id"])["state"] == "resolved"
    status, again = service.ingest(_low_stock())
    assert status == 201 and again["id"] != first["id"] and again["group_id"] != first["group_id"]
    assert service.get(again["id"])["incident"]["state"] == "pending"
