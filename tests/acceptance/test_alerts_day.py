"""Alerts from business systems, as the people who get them see them: the shipped config/alerts.yaml
and demo company, driven through POST /alerts (and Alertmanager's webhook) and the sandbox's WeCom
side, on the stepped clock. A store's low stock reaches its region's manager with SKU, stock and a
restock suggestion; 50 order timeouts of one warehouse are one message; a line that is down and
unclaimed escalates to the production director, then the general manager; claiming stops it, the
source's recovery ends it with a resolved message; a partner factory's member (上下游) gets the
alert in their own corp and claims it."""

from __future__ import annotations

from datetime import datetime

import pytest

pytestmark = pytest.mark.slow
TUESDAY_10 = "2026-12-08T10:00:00+08:00"


def _alert(company, expect: int = 201, **body):
    base = {"source": "WMS", "severity": "warning"}
    return company.api("POST", "/alerts", {**base, **body}, expect=expect)


def test_low_stock_reaches_the_store_regions_manager_once(start_company) -> None:
    company = start_company(TUESDAY_10, people=["zhoujie", "huangwei"])
    stored = _alert(company, type="库存不足", dedup_key="nanjinglu-A1001", labels={"store": "上海南京路店"},
                    fields={"SKU": "A1001", "当前库存": 3, "安全库存": 20, "补货建议": "补货 50 件"})
    assert stored["state"] == "firing" and stored["group_id"]
    again = _alert(company, expect=200, type="库存不足", dedup_key="nanjinglu-A1001", labels={"store": "上海南京路店"},
                   fields={"SKU": "A1001", "当前库存": 2, "安全库存": 20, "补货建议": "补货 50 件"})
    assert again["repeat"] is True and again["id"] == stored["id"] and again["count"] == 2
    assert not company.texts("zhoujie"), "nothing before the route's group_wait (60 s)"

    company.advance("2m")
    cards = [e for e in company.inbox("zhoujie") if "库存不足" in e["text"]]
    assert len(cards) == 1, company.texts("zhoujie")
    text = cards[0]["text"]
    for shown in ("上海南京路店", "A1001", "当前库存 2", "补货 50 件"):
        assert shown in text, text
    assert set(cards[0]["keys"]) == {"alert_ack", "alert_resolve"}
    assert not company.texts("huangwei"), "华南's manager is not 上海南京路店's region"

    company.click("zhoujie", cards[0]["task_id"], "alert_ack")
    incident = company.api("GET", f"/alerts/{stored['id']}", expect=200)["incident"]
    assert incident["state"] == "acked" and incident["acked_by"] == "zhoujie"
    assert "周杰 已认领" in company.card("zhoujie", "库存不足")["text"]
    company.advance("6h")
    assert len([t for t in company.texts("zhoujie") if "库存不足" in t]) == 1, "no reminder once claimed"


def test_fifty_order_timeouts_of_one_warehouse_are_one_message(start_company) -> None:
    company = start_company(TUESDAY_10, people=["chenjing"], robots=["project-group"])
    ids = {_alert(company, type="订单超时", source="OMS", dedup_key=f"order-{n}", labels={"warehouse": "上海一号仓"},
                  fields={"order_id": f"SO{10000 + n}", "customer": "鸿运经销商", "超时时长": "2小时"})["group_id"]
           for n in range(50)}
    assert len(ids) == 1, "one incident"
    company.advance("5m")
    cards = [e for e in company.inbox("chenjing") if "订单超时" in e["text"]]
    assert len(cards) == 1, company.texts("chenjing")
    assert "共 50 条" in cards[0]["text"]
    robot = [e for e in company.robot("project-group") if "订单超时" in e["text"]]
    assert len(robot) == 1 and "SO10000" in robot[0]["text"] and "另有 40 条" in robot[0]["text"], robot


def test_an_unclaimed_line_down_escalates_then_claim_and_recovery_end_it(start_company) -> None:
    company = start_company(TUESDAY_10, people=["xuming", "gaofeng", "wangjianguo"], robots=["factory-group"])
    down = _alert(company, source="MES", type="设备故障", severity="critical", dedup_key="L2-press-7",
                  labels={"line": "二号线", "device": "冲压机7"}, fields={"故障描述": "主电机过热停机", "error_code": "E-217"})
    lesser = _alert(company, source="MES", type="设备故障", severity="warning", dedup_key="L2-press-7-temp",
                    labels={"line": "二号线", "device": "冲压机7"}, fields={"故障描述": "油温偏高", "error_code": "W-03"})
    assert lesser["state"] == "inhibited", "the machine is down: its lesser alarm is silenced"
    company.settle()
    assert [e for e in company.inbox("xuming") if "严重告警" in e["text"] and "冲压机7" in e["text"]]
    assert [e for e in company.robot("factory-group") if "冲压机7" in e["text"]]
    assert not company.texts("gaofeng")

    company.advance("16m")
    l1 = [e for e in company.inbox("gaofeng") if "告警升级 L1" in e["text"]]
    assert len(l1) == 1 and "主电机过热停机" in l1[0]["text"], company.texts("gaofeng")
    assert not company.texts("wangjianguo")
    company.advance("30m")
    assert [e for e in company.inbox("wangjianguo") if "告警升级 L2" in e["text"]], company.texts("wangjianguo")

    company.click("gaofeng", l1[0]["task_id"], "alert_ack")
    assert [e for e in company.robot("factory-group") if "高峰 已认领" in e["text"]]
    before = len(company.texts("xuming"))
    company.advance("3h")
    assert len(company.texts("xuming")) == before, "claimed: no reminder"

    _alert(company, expect=200, source="MES", type="设备故障", severity="critical", dedup_key="L2-press-7",
           labels={"line": "二号线", "device": "冲压机7"}, fields={"故障描述": "已恢复"},
           ends_at=datetime.fromisoformat(company.now()).isoformat())
    resolved = [t for t in company.texts("xuming") if "告警已解除" in t]
    assert len(resolved) == 1 and "来源系统已恢复" in resolved[0], company.texts("xuming")
    assert [e for e in company.robot("factory-group") if "告警已解除" in e["text"]]
    incident = company.api("GET", f"/alerts/{down['id']}", expect=200)
    assert incident["state"] == "resolved" and incident["incident"]["state"] == "resolved"

    month = datetime.fromisoformat(company.now()).strftime("%Y-%m")
    stats = company.api("GET", f"/alerts/stats?month={month}", expect=200)
    ack = stats["by_type"]["设备故障"]["time_to_acknowledge"]
    assert ack["count"] == 1 and 45 * 60 <= ack["median_seconds"] <= 50 * 60, ack
    assert stats["by_receiver"]["生产总监"]["time_to_acknowledge"]["count"] == 1


def test_a_partner_factory_member_gets_the_alert_in_their_corp_and_claims_it(start_company) -> None:
    company = start_company(TUESDAY_10, people=["wwpartner0001:wangchang", "xuming"])
    stored = _alert(company, source="QMS", type="来料质量", dedup_key="batch-B2612",
                    labels={"batch": "B2612-07"}, fields={"物料": "轴承座", "问题": "尺寸超差", "不良率": "4.2%"})
    company.advance("2m")
    cards = [e for e in company.inbox("wwpartner0001:wangchang") if "来料质量异常" in e["text"]]
    assert len(cards) == 1 and "尺寸超差" in cards[0]["text"], company.texts("wwpartner0001:wangchang")
    messages = company.call("GET", "/_sandbox/messages")[1]
    sent = [m for m in messages if m.get("task_id") == cards[0]["task_id"]]
    assert sent and sent[0]["corp"] == "wwpartner0001", "sent as the shared app in the partner's own corp"

    company.click("wwpartner0001:wangchang", cards[0]["task_id"], "alert_ack")
    incident = company.api("GET", f"/alerts/{stored['id']}", expect=200)["incident"]
    assert incident["state"] == "acked" and incident["acked_by"] == "wwpartner0001:wangchang"
    assert "王厂长 已认领" not in company.card("xuming", "来料质量异常")["text"], "only the clicker's card changes"
    assert "已认领" in company.card("wwpartner0001:wangchang", "来料质量异常")["text"]
    company.api("POST", f"/alerts/{stored['id']}/resolve", {"by": "xuming"}, expect=200)
    assert [t for t in company.texts("wwpartner0001:wangchang") if "告警已解除" in t and "徐明 已处理" in t]


def test_alertmanager_alerts_fire_and_resolve_through_the_same_routing(start_company) -> None:
    company = start_company(TUESDAY_10, robots=["project-group"])
    alert = {"labels": {"alertname": "HighErrorRate", "severity": "warning", "service": "订单服务"},
             "annotations": {"summary": "订单服务 5xx 比例 12%"}, "startsAt": "2026-12-08T01:55:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "abc123"}
    body = {"version": "4", "status": "firing", "receiver": "wecom", "groupKey": "{}:{}", "alerts": [
        {**alert, "status": "firing"}, {**alert, "status": "firing", "fingerprint": "def456",
                                        "labels": {**alert["labels"], "instance": "10.0.0.2"}}]}
    got = company.api("POST", "/alerts/alertmanager", body, expect=200)
    assert got["received"] == 2 and len({a["group_id"] for a in got["alerts"]}) == 1
    company.advance("1m")
    fired = [e for e in company.robot("project-group") if "HighErrorRate" in e["text"]]
    assert len(fired) == 1 and "订单服务 5xx 比例 12%" in fired[0]["text"] and "共 2 条" in fired[0]["text"]
    resolved = {**body, "status": "resolved", "alerts": [{**a, "status": "resolved", "endsAt": "2026-12-08T02:05:00Z"}
                                                         for a in body["alerts"]]}
    company.api("POST", "/alerts/alertmanager", resolved, expect=200)
    assert [e for e in company.robot("project-group") if "告警已解除" in e["text"] and "HighErrorRate" in e["text"]]


def test_a_warning_at_night_waits_for_the_morning_a_critical_one_does_not(start_company) -> None:
    company = start_company("2026-12-08T23:00:00+08:00", people=["zhoujie", "xuming"])
    _alert(company, type="库存不足", dedup_key="xihu-B2", labels={"store": "杭州西湖店"},
           fields={"SKU": "B2", "当前库存": 1, "安全库存": 10, "补货建议": "补货 20 件"})
    _alert(company, source="MES", type="设备故障", severity="critical", dedup_key="L1-oven",
           labels={"line": "一号线", "device": "烘箱"}, fields={"故障描述": "温控失效", "error_code": "E-1"})
    company.advance("30m")
    assert [e for e in company.inbox("xuming") if "烘箱" in e["text"]], "critical: sent at night"
    assert not company.texts("zhoujie"), "a warning waits for the end of quiet hours"
    company.until("2026-12-09T09:00:00+08:00")
    morning = [e for e in company.inbox("zhoujie") if "库存不足" in e["text"]]
    assert [e["local_time"][11:16] for e in morning] == ["08:30"], company.texts("zhoujie")


def test_bad_alerts_are_refused_naming_the_problem_and_nothing_is_sent(start_company) -> None:
    company = start_company(TUESDAY_10)
    status, body = company.call("POST", "/alerts", {"source": "WMS", "type": "库存不足", "labels": {"store": "上海南京路店"}})
    assert status == 400 and "dedup_key" in body["error"]["message"], body
    status, body = company.call("POST", "/alerts", {"source": "WMS", "type": "库存不足", "dedup_key": "x"})
    assert status == 400 and "labels.store" in body["error"]["message"], body
    status, body = company.call("POST", "/alerts", {"source": "WMS", "type": "库存不足", "dedup_key": "x",
                                                    "labels": {"store": "火星店"}})
    assert status == 400 and "火星店" in body["error"]["message"], body
    status, body = company.call("POST", "/alerts", {"source": "WMS", "type": "库存不足", "dedup_key": "x",
                                                    "lables": {"store": "上海南京路店"}})
    assert status == 400 and "lables" in body["error"]["message"], body
    status, body = company.call("POST", "/alerts/AL000000-nothere/ack", {"by": "zhoujie"})
    assert status == 404, body
    company.advance("5m")
    assert company.call("GET", "/_sandbox/messages")[1] == []


def test_a_flood_from_one_source_is_grouped_into_a_bounded_number_of_messages(start_company) -> None:
    company = start_company(TUESDAY_10, robots=["project-group"])
    for n in range(300):
        _alert(company, source="OMS", type="订单超时", dedup_key=f"flood-{n}",
               labels={"warehouse": f"仓{n % 3}"}, fields={"order_id": f"F{n}", "customer": "-", "超时时长": "1小时"})
    company.advance("5m")
    robot = [e for e in company.robot("project-group") if "订单超时" in e["text"]]
    assert len(robot) == 3, [e["text"][:40] for e in robot]
    assert sorted(int(e["text"].split("共 ")[1].split(" 条")[0]) for e in robot) == [100, 100, 100]
    one = company.api("GET", "/alerts/" + company.api("POST", "/alerts", {
        "source": "OMS", "type": "订单超时", "severity": "warning", "dedup_key": "flood-7",
        "labels": {"warehouse": "仓1"}, "fields": {}})["id"], expect=200)
    assert one["count"] == 2 and one["incident"]["alert_count"] == 100, "a repeat updates its alert, no new one"


def test_an_unclaimed_incident_is_a_risk_in_the_1800_summary_until_claimed(start_company) -> None:
    company = start_company("2026-12-08T17:00:00+08:00", robots=["project-group"])
    down = _alert(company, source="MES", type="设备故障", severity="critical", dedup_key="L3-robot-arm",
                  labels={"line": "三号线", "device": "机械臂2"}, fields={"故障描述": "伺服报警", "error_code": "S-9"})
    company.until("2026-12-08T18:05:00+08:00")
    summaries = [e for e in company.robot("project-group") if "技术服务项目组" in e["text"]]
    assert summaries and "未认领告警" in summaries[-1]["text"] and "机械臂2" in summaries[-1]["text"], summaries
    company.api("POST", f"/alerts/{down['id']}/ack", {"by": "xuming"}, expect=200)
    company.until("2026-12-09T18:05:00+08:00")
    next_day = [e["text"] for e in company.robot("project-group") if "技术服务项目组" in e["text"] and "2026-12-09" in e["text"]]
    assert not [t for t in next_day if "机械臂2" in t], "claimed: no longer a risk (an empty summary is not sent)"
