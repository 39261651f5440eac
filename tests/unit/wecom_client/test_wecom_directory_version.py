"""Directory cache coherence across containers: the shared version, its throttled check, the
contact-change route that evicts its own container's entries and bumps the version."""

from __future__ import annotations

import pytest

from wecom_oa import wiring
from wecom_oa import worker as events
from wecom_oa.errors import UpstreamThrottled
from wecom_oa.wecom.directory import WeComDirectory
from wecom_oa.wecom.parser import parse_event

N = 15.0


class SharedVersion:
    """The version item every container reads; counts reads, fails a read when told to."""

    def __init__(self) -> None:
        self.value = 0
        self.reads = 0
        self.fail_next = False

    def current(self) -> int:
        self.reads += 1
        if self.fail_next:
            self.fail_next = False
            raise UpstreamThrottled("DynamoDB get_item throttled (ThrottlingException)")
        return self.value

    def bump(self) -> int:
        self.value += 1
        return self.value


@pytest.fixture
def shared() -> SharedVersion:
    return SharedVersion()


@pytest.fixture
def directory(client, clock, shared):
    return WeComDirectory(client, clock=clock, ttl_seconds=600, version=shared, version_check_seconds=N)


def _user_gets(router, userid: str) -> int:
    return sum(1 for call in router.of("user/get") if call.params.get("userid") == userid)


def test_given_unchanged_version_when_used_for_45s_then_one_fetch_and_one_version_read_per_interval(
        directory, router, clock, shared) -> None:
    for _ in range(10):  # t = 0, 5, ..., 45 s
        directory.user("zhangsan")
        directory.department(2)
        clock.advance(5)

    assert (router.count("user/get"), router.count("department/get")) == (1, 1)
    assert shared.reads == 4  # t = 0, 15, 30, 45


def test_given_a_bump_by_another_container_when_next_check_is_due_then_refetched_from_wecom(
        directory, router, clock, shared) -> None:
    directory.user("zhangsan")
    directory.department(2)
    shared.bump()

    clock.advance(N - 1)
    directory.department(2)
    assert router.count("department/get") == 1  # within the check interval: still cached

    clock.advance(1)
    directory.department(2)
    directory.user("zhangsan")
    assert (router.count("department/get"), router.count("user/get")) == (2, 2)


def test_given_unreadable_version_then_cache_served_and_read_again_next_interval(
        directory, router, clock, shared) -> None:
    directory.user("zhangsan")
    shared.bump()
    shared.fail_next = True
    clock.advance(N)

    directory.user("zhangsan")
    assert router.count("user/get") == 1

    clock.advance(N)
    directory.user("zhangsan")
    assert router.count("user/get") == 2 and shared.reads == 3


def test_given_own_change_when_noted_then_only_changed_entries_refetched(directory, router, clock, shared) -> None:
    directory.user("zhangsan")
    directory.user("lisi")
    directory.department(2)

    directory.forget_change("user", ["zhangsan"])
    directory.note_version(shared.bump())
    clock.advance(N)
    for userid in ("zhangsan", "lisi"):
        directory.user(userid)
    directory.department(2)

    assert (_user_gets(router, "zhangsan"), _user_gets(router, "lisi")) == (2, 1)
    assert router.count("department/get") == 2


def test_given_a_change_missed_when_own_bump_is_noted_then_everything_refetched(
        directory, router, clock, shared) -> None:
    directory.user("lisi")
    shared.bump()  # another worker's change, not yet seen here

    directory.forget_change("tag", [])
    directory.note_version(shared.bump())
    directory.user("lisi")

    assert _user_gets(router, "lisi") == 2


@pytest.mark.parametrize(("fixture", "refetched"), [
    ("contact_update_tag.xml", {"user/get": 1, "department/get": 1}),
    ("contact_create_party.xml", {"user/get": 1, "department/get": 2}),
    ("contact_delete_user.xml", {"user/get": 2, "department/get": 2}),
])
def test_given_contact_change_event_when_routed_then_own_cache_evicted_and_version_bumped(
        directory, router, shared, monkeypatch, fixture, refetched) -> None:
    from tests.conftest import EVENTS

    monkeypatch.setattr(wiring, "built_directory", lambda: directory)
    monkeypatch.setattr(wiring, "directory_version", lambda: shared)
    directory.user("lisi")
    directory.department(2)
    event = parse_event((EVENTS / "wecom" / fixture).read_text(encoding="utf-8"))

    assert events.process_message({"key": event.idempotency_key, "event": event.model_dump(mode="json")}) == \
        "contact_change"
    directory.user("lisi")
    directory.department(2)

    assert shared.value == 1
    assert {"user/get": _user_gets(router, "lisi"), "department/get": router.count("department/get")} == refetched
