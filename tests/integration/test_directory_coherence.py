"""A department head changed in WeCom reaches another container's directory cache through the
change_contact callback and the shared directory version: the next approval goes to the new head."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.approvals.helpers import FAST_RULES, card_for, cards_for, submit
from wecom_oa.clock import ManualClock

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


class RealTimeClock(ManualClock):
    """Business time moves only when the test says so (cache TTLs and version checks included);
    Step Functions waits last real seconds, so no stage timeout fires during the test."""

    def real_seconds(self, seconds: float) -> float:
        return max(0.0, seconds)


@pytest.fixture
def clock() -> Any:
    from wecom_oa.clock import set_clock

    manual = RealTimeClock(START)
    set_clock(manual)
    yield manual
    set_clock(None)


@pytest.fixture
def app(clock: Any, local_app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    from wecom_oa.settings import reset_settings

    monkeypatch.setenv("OA_CONFIG_DIR", str(FAST_RULES))  # expense > 1000: the department head
    reset_settings()
    yield local_app
    reset_settings()


def _worker_in_its_own_container(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The events worker gets a directory cache of its own, as in Lambda: evicting it leaves the
    API's cache (`wiring.directory()`) alone, so only the shared version can refresh that one."""
    from wecom_oa import wiring
    from wecom_oa.wecom.directory import WeComDirectory

    worker_cache = WeComDirectory(wiring.wecom_client(), version=wiring.directory_version())
    monkeypatch.setattr(wiring, "built_directory", lambda: worker_cache)
    return worker_cache


def _admin_makes_head(app: Any, dept_id: int, userid: str, create_time: int) -> int:
    """Change the head in the sandbox's WeCom; deliver WeCom's update_user callbacks; run the worker."""
    from local.sandbox.callbacks import user_update_xml
    from wecom_oa import wiring

    corp_id = wiring.wecom_credentials().corp_id
    changed = app.sandbox.set_department_leaders(dept_id, [userid])
    for record in changed:
        resp = app.simulator.post_event(user_update_xml(record, corp_id=corp_id, create_time=create_time))
        assert resp["status"] == 200, resp
    app.stack.drain()
    return len(changed)


def test_given_api_cached_old_head_when_head_changes_in_wecom_then_next_approval_goes_to_new_head(
        app, clock, monkeypatch) -> None:
    from wecom_oa import wiring
    from wecom_oa.wecom.directory import VERSION_CHECK_SECONDS

    first = submit(app, "expense", "wangwu", {"amount": 2000, "reason": "差旅"})
    card_for(app, first["id"], "wufang")
    api_cache = wiring.directory()
    worker_cache = _worker_in_its_own_container(monkeypatch)

    callbacks = _admin_makes_head(app, 8, "zhaoliu", int(clock.now().timestamp()))

    assert callbacks == 2  # wufang no longer head, zhaoliu now head
    assert wiring.directory_version().current() == callbacks
    assert worker_cache.department(8).leaders == ["zhaoliu"]
    assert api_cache.department(8).leaders == ["wufang"]  # not yet checked: bounded staleness

    clock.advance(VERSION_CHECK_SECONDS)
    second = submit(app, "expense", "wangwu", {"amount": 3000, "reason": "差旅"})

    assert card_for(app, second["id"], "zhaoliu")["recipients"]["userids"] == ["zhaoliu"]
    assert cards_for(app, second["id"], "wufang") == []
