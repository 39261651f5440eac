"""A notice to Li Ning's 6000 stores in the console: the page answers from the notice's counters
and its CSV names every recipient with a bounded number of WeCom calls (one user/list and one
department/list, not a user/get per store)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest


@pytest.fixture
def stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> int:
    from local.sandbox.generate import write

    monkeypatch.setenv("SANDBOX_DIRECTORY", str(write(tmp_path / "stores.yaml", 6000, 60)))
    return 6061


def test_given_a_6000_store_notice_then_the_page_and_csv_cost_a_few_wecom_calls(stores, browser, console) -> None:
    status, created = console.http("POST", "/notices", {
        "title": "双十一备货通知", "content": "各门店请核对备货清单并确认。", "toparty": [1], "sender": "boss",
        "ack_deadline": "2026-03-06T18:00:00+08:00"})
    assert status == 201, created
    console.stack.drain()
    boss = browser()
    boss.login("boss")
    before = len(console.sandbox.calls())

    page = boss.get(f"/console/notices/{created['id']}")
    assert page.status == 200 and f"已确认 0/{stores}" in page.text and "名单见 CSV" in page.text
    export = boss.get(f"/console/notices/{created['id']}/export")
    rows = list(csv.reader(io.StringIO(export.body.lstrip("\ufeff"))))
    assert len(rows) == stores + 1 and all(r[1] and r[2] for r in rows[1:])

    calls = [c["path"] for c in console.sandbox.calls()[before:]]
    assert len(calls) <= 4, sorted(set(calls))
    assert "user/get" not in calls and "department/get" not in calls
