"""TicketRepository against moto DynamoDB: atomic create/apply, optimistic locking, the open index."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from wecom_oa.aws.dynamo import Keys
from wecom_oa.errors import AlreadyExists, IllegalTransition, InvalidInput, NotFound, StaleVersion
from wecom_oa.tickets.domain import Status, apply_action

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # when the `created` fixture opens tickets
H = timedelta(hours=1)


def _raw_items(table, ticket_id: str) -> list[dict]:
    return list(table.query(Keys.ticket(ticket_id)["pk"]))


def test_given_new_ticket_when_created_then_ticket_and_first_history_entry_stored(repo, created, table):
    outcome = created()
    assert repo.get("T1") == outcome.ticket
    assert repo.history("T1") == [outcome.entry]
    assert sorted(i["sk"] for i in _raw_items(table, "T1"))[-1] == "META"


def test_given_existing_id_when_created_again_then_already_exists_and_history_unchanged(repo, created):
    created()
    with pytest.raises(AlreadyExists):
        created()
    assert len(repo.history("T1")) == 1


def test_given_missing_ticket_when_read_then_not_found(repo):
    with pytest.raises(NotFound):
        repo.get("nope")


def test_given_lifecycle_when_applied_then_each_step_stored_with_history(repo, created, catalog):
    created()
    steps = [("accept", None), ("wait_customer", {"comment": "请提供订单号"}), ("resume", None),
             ("resolve", {"fields": {"answer": "已在官网开具"}}), ("close", None)]
    for hours, (action, payload) in enumerate(steps, start=1):
        outcome = repo.apply("T1", action, "agent1", catalog=catalog, now=T0 + hours * H, payload=payload)
        assert repo.get("T1") == outcome.ticket
    history = repo.history("T1")
    assert [e.action for e in history] == ["create", *[a for a, _ in steps]]
    assert [e.seq for e in history] == [1, 2, 3, 4, 5, 6]
    stored = repo.get("T1")
    assert stored.status == Status.CLOSED and stored.version == 6 and stored.fields["answer"] == "已在官网开具"


def test_given_stale_expected_version_when_applied_then_stale_and_nothing_written(repo, created, catalog, table):
    created()
    repo.apply("T1", "accept", "agent1", catalog=catalog, now=T0 + H)
    before = _raw_items(table, "T1")
    with pytest.raises(StaleVersion):
        repo.apply("T1", "comment", "agent2", catalog=catalog, now=T0 + 2 * H,
                   payload={"comment": "我来看看"}, expected_version=1)
    assert _raw_items(table, "T1") == before


def test_given_outcome_from_old_version_when_committed_then_stale_and_nothing_written(repo, created, catalog, table):
    outcome = created()
    repo.apply("T1", "accept", "agent1", catalog=catalog, now=T0 + H)
    before = _raw_items(table, "T1")
    late = apply_action(outcome.ticket, "close", "agent2", T0 + 2 * H, {"reason": "重复"}, catalog=catalog)
    with pytest.raises(StaleVersion):
        repo.commit(outcome.ticket, late)
    assert _raw_items(table, "T1") == before  # neither the ticket nor a history entry changed


def test_given_illegal_action_when_applied_then_nothing_written(repo, created, catalog, table):
    created()
    before = _raw_items(table, "T1")
    with pytest.raises(IllegalTransition):
        repo.apply("T1", "resume", "agent1", catalog=catalog, now=T0 + H)
    assert _raw_items(table, "T1") == before


def test_given_two_threads_when_both_commit_from_same_version_then_exactly_one_wins(repo, created, catalog):
    base = created().ticket
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def worker(name: str, action: str, payload: dict | None) -> None:
        outcome = apply_action(repo.get("T1"), action, name, T0 + H, payload, catalog=catalog)
        barrier.wait()  # both have read version 1 before either writes
        try:
            repo.commit(base, outcome)
            results[name] = "won"
        except StaleVersion:
            results[name] = "stale"

    threads = [threading.Thread(target=worker, args=("agent1", "accept", None)),
               threading.Thread(target=worker, args=("agent2", "close", {"reason": "重复"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == ["stale", "won"]
    winner = next(n for n, r in results.items() if r == "won")
    history = repo.history("T1")
    assert [e.seq for e in history] == [1, 2] and history[1].by == winner
    assert repo.get("T1").version == 2


def test_given_many_threads_retrying_on_stale_when_commenting_then_no_history_entry_lost(repo, created, catalog):
    created()
    workers, per_worker = 4, 5

    def worker(n: int) -> None:
        for i in range(per_worker):
            while True:
                try:
                    repo.apply("T1", "comment", f"agent{n}", catalog=catalog, now=T0 + H,
                               payload={"comment": f"第{i}条"})
                    break
                except StaleVersion:
                    continue

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    history = repo.history("T1")
    assert [e.seq for e in history] == list(range(1, workers * per_worker + 2))
    assert repo.get("T1").version == workers * per_worker + 1
    for n in range(workers):
        assert sorted(e.comment for e in history if e.by == f"agent{n}") == [f"第{i}条" for i in range(per_worker)]


def test_given_open_tickets_when_listed_by_team_then_ordered_by_next_deadline(repo, created, catalog):
    for ticket_id in ("T1", "T2", "T3"):
        created(ticket_id)
    assert repo.set_next_deadline("T1", T0 + 5 * H)
    assert repo.set_next_deadline("T2", T0 + 2 * H)
    listed = repo.list_open("customer_service")
    assert [t.id for t in listed] == ["T2", "T1", "T3"]  # T3 has no deadline yet: last
    assert listed[0].next_due == T0 + 2 * H


def test_given_status_filter_when_listed_then_only_that_status(repo, created, catalog):
    created("T1")
    created("T2")
    repo.apply("T2", "accept", "agent1", catalog=catalog, now=T0 + H)
    assert [t.id for t in repo.list_open("customer_service", [Status.IN_PROGRESS])] == ["T2"]
    with pytest.raises(InvalidInput):
        repo.list_open("customer_service", ["closed"])


def test_given_ticket_resolved_or_closed_when_listed_then_gone_from_open_index(repo, created, catalog, table):
    created("T1")
    created("T2")
    repo.set_next_deadline("T1", T0 + H)
    repo.apply("T1", "accept", "agent1", catalog=catalog, now=T0 + H)
    repo.apply("T1", "resolve", "agent1", catalog=catalog, now=T0 + 2 * H, payload={"fields": {"answer": "好"}})
    repo.apply("T2", "close", "agent1", catalog=catalog, now=T0 + 2 * H, payload={"reason": "重复工单"})
    assert repo.list_open("customer_service") == []
    meta = table.get(Keys.ticket("T1"))
    assert not {"gsi1pk", "gsi1sk", "next_due"} & meta.keys()
    assert repo.set_next_deadline("T1", T0 + 9 * H) is False  # a late timer cannot resurrect it
    assert repo.list_open("customer_service") == []


def test_given_resolved_ticket_when_reopened_then_back_in_open_index(repo, created, catalog):
    created("T1")
    repo.apply("T1", "accept", "agent1", catalog=catalog, now=T0 + H)
    repo.apply("T1", "resolve", "agent1", catalog=catalog, now=T0 + 2 * H, payload={"fields": {"answer": "好"}})
    repo.apply("T1", "reopen", "reporter1", catalog=catalog, now=T0 + 3 * H, payload={"reason": "仍无法开票"})
    assert [t.status for t in repo.list_open("customer_service")] == [Status.IN_PROGRESS]


def test_given_transfer_when_applied_then_ticket_moves_to_other_team_queue_keeping_deadline(repo, created, catalog, table):
    created("T1")
    repo.set_next_deadline("T1", T0 + 4 * H)
    repo.apply("T1", "transfer", "agent1", catalog=catalog, now=T0 + H, payload={"to": {"team": "finance"}})
    assert repo.list_open("customer_service") == []
    moved = repo.list_open("finance")
    assert [t.id for t in moved] == ["T1"] and moved[0].next_due == T0 + 4 * H


def test_given_deadline_computed_for_old_version_when_set_then_refused(repo, created, catalog):
    created("T1")
    repo.apply("T1", "accept", "agent1", catalog=catalog, now=T0 + H)
    assert repo.set_next_deadline("T1", T0 + 3 * H, if_version=1) is False
    assert repo.set_next_deadline("T1", T0 + 3 * H, if_version=2) is True
    assert repo.get("T1").version == 2  # deadlines never bump the version
