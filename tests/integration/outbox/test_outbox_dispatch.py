"""The outbox on SQLite and PostgreSQL: enqueue is idempotent by (kind, key) and part of the caller's
transaction; the dispatcher sends, retries with backoff, gives up, parks unknown outcomes for a
person; two dispatchers at once handle every message exactly once, and a dead worker's message is
taken up again, once, when its lease expires."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from microfactory.db.engine import make_engine, make_session_factory
from microfactory.db.tables.outbox import OutboxMessageRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, NotFound, UpstreamFailure
from microfactory.outbox import store
from microfactory.outbox.claim import Message, claim
from microfactory.outbox.dispatcher import Handler, Handlers, Outcome, dispatch_due
from microfactory.outbox.model import Backoff

T0 = datetime.now(UTC) + timedelta(hours=1)  # after every message these tests enqueue
KIND = "test.effect"
NO_JITTER = Backoff(base_seconds=60, cap_seconds=600, max_attempts=3, jitter=0)


def _enqueue(engine: Engine, count: int, kind: str = KIND) -> list[str]:
    with UnitOfWork.for_engine(engine) as uow:
        ids = [store.enqueue(uow, kind, f"k{n}", {"n": n}) for n in range(count)]
        uow.commit()
    return ids


def _row(engine: Engine, message_id: str) -> OutboxMessageRow:
    with UnitOfWork.for_engine(engine) as uow:
        return store.get_message(uow, message_id)


class Counting:
    """A handler that counts its calls per message, from any thread, and may fail as told."""

    def __init__(self, fail_with: Exception | None = None, delay: float = 0.0) -> None:
        self.calls: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.fail_with = fail_with
        self.delay = delay

    def __call__(self, message: Message) -> Mapping[str, Any]:
        with self.lock:
            self.calls[message.id] += 1
        if self.delay:
            threading.Event().wait(self.delay)
        if self.fail_with is not None:
            raise self.fail_with
        return {"sent": message.payload["n"]}


def test_enqueue_is_idempotent_by_kind_and_key(engine: Engine) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        first = store.enqueue(uow, KIND, "order-1", {"amount": "10.00", "lines": [1, 2]})
        assert store.enqueue(uow, KIND, "order-1", {"lines": [1, 2], "amount": "10.00"}) == first
        assert store.enqueue(uow, "other.kind", "order-1", {"amount": "10.00"}) != first
        with pytest.raises(Conflict, match="order-1"):
            store.enqueue(uow, KIND, "order-1", {"amount": "12.00"})
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:  # a later transaction finds the committed message
        assert store.enqueue(uow, KIND, "order-1", {"amount": "10.00", "lines": [1, 2]}) == first
        assert len(store.list_messages(uow)) == 2


def test_a_message_exists_only_if_the_callers_transaction_commits(engine: Engine) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        store.enqueue(uow, KIND, "rolled-back", {"n": 1})
        uow.rollback()
    with UnitOfWork.for_engine(engine) as uow:
        assert store.list_messages(uow) == []


def test_done_with_its_result_and_the_record_written_in_the_same_transaction(engine: Engine) -> None:
    (message_id,) = _enqueue(engine, 1)
    recorded: list[tuple[str, str]] = []

    def record(uow: UnitOfWork, outcome: Outcome) -> None:
        row = uow.session.get(OutboxMessageRow, outcome.message.id)
        assert row is not None and row.status == "done"  # the outcome is already written
        recorded.append((outcome.message.id, outcome.status))

    handler = Counting()
    handlers = Handlers({KIND: Handler(handler, record)})
    factory = make_session_factory(engine)
    report = dispatch_due(factory, handlers, now=T0 + timedelta(seconds=1), worker_id="w1")
    assert report.counts == {"done": 1} and recorded == [(message_id, "done")]
    row = _row(engine, message_id)
    assert (row.status, row.attempts, row.result, row.last_error) == ("done", 1, {"sent": 0}, None)
    assert row.lease_until is None and row.finished_at is not None
    assert dispatch_due(factory, handlers, now=T0 + timedelta(days=1)).outcomes == []
    assert handler.calls == Counter({message_id: 1})


def test_failures_wait_for_their_backoff_then_die(engine: Engine) -> None:
    (message_id,) = _enqueue(engine, 1)
    factory = make_session_factory(engine)
    handler = Counting(fail_with=UpstreamFailure("store", "503 Service Unavailable"))
    handlers = Handlers({KIND: Handler(handler, backoff=NO_JITTER)})
    now = datetime.now(UTC)
    assert dispatch_due(factory, handlers, now=now).counts == {"failed": 1}
    row = _row(engine, message_id)
    assert row.status == "failed" and row.last_error == "store: 503 Service Unavailable"
    assert row.due_at == now + timedelta(seconds=60)
    assert dispatch_due(factory, handlers, now=now + timedelta(seconds=59)).outcomes == []
    assert dispatch_due(factory, handlers, now=now + timedelta(seconds=60)).counts == {"failed": 1}
    assert _row(engine, message_id).due_at == now + timedelta(seconds=180)  # 60 s + 120 s
    assert dispatch_due(factory, handlers, now=now + timedelta(seconds=180)).counts == {"dead": 1}
    assert dispatch_due(factory, handlers, now=now + timedelta(days=30)).outcomes == []
    assert handler.calls[message_id] == 3 and _row(engine, message_id).status == "dead"


def test_an_unknown_outcome_waits_for_a_person(engine: Engine) -> None:
    (message_id,) = _enqueue(engine, 1)
    factory = make_session_factory(engine)
    unsure = Counting(
        fail_with=UpstreamFailure("carrier", "timeout after the label was paid", retryable=False)
    )
    now = datetime.now(UTC)
    assert dispatch_due(factory, Handlers({KIND: Handler(unsure)}), now=now).counts == {"unknown_outcome": 1}
    assert (
        dispatch_due(factory, Handlers({KIND: Handler(unsure)}), now=now + timedelta(days=30)).outcomes == []
    )
    with UnitOfWork.for_engine(engine) as uow:
        store.retry(uow, message_id, now=now + timedelta(hours=1))
        uow.commit()
    retried = _row(engine, message_id)
    assert (retried.status, retried.attempts) == ("pending", 0)
    healthy = Counting()
    report = dispatch_due(factory, Handlers({KIND: Handler(healthy)}), now=now + timedelta(hours=1))
    assert report.counts == {"done": 1} and _row(engine, message_id).attempts == 1
    with UnitOfWork.for_engine(engine) as uow:
        with pytest.raises(Conflict, match="is done"):
            store.retry(uow, message_id)
        with pytest.raises(NotFound):
            store.retry(uow, "obx_nope")


def test_only_kinds_with_a_handler_and_asked_for_are_claimed(engine: Engine) -> None:
    (effect,) = _enqueue(engine, 1)
    (other,) = _enqueue(engine, 1, kind="other.kind")
    factory = make_session_factory(engine)
    handler = Counting()
    handlers = Handlers({KIND: Handler(handler), "third.kind": Handler(handler)})
    assert dispatch_due(factory, handlers, kinds=["third.kind"]).outcomes == []
    assert [o.message.id for o in dispatch_due(factory, handlers).outcomes] == [effect]
    assert _row(engine, other).status == "pending"  # no handler here: left for a process that has one


def _race(database_url: str, run: Callable[[Any], Any], workers: int = 2) -> list[Any]:
    """Run `run(factory)` in `workers` threads at once, each with its own engine (own connections)."""
    engines = [make_engine(database_url) for _ in range(workers)]
    barrier = threading.Barrier(workers)
    results: list[Any] = [None] * workers
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(10)
            results[index] = run(make_session_factory(engines[index]))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for created in engines:
        created.dispose()
    assert not failures, failures
    return results


def test_two_dispatchers_at_once_handle_every_message_exactly_once(engine: Engine, database_url: str) -> None:
    ids = _enqueue(engine, 40)
    handler = Counting(delay=0.005)
    handlers = Handlers({KIND: Handler(handler)})
    now = datetime.now(UTC) + timedelta(seconds=1)

    def run(factory: Any) -> int:
        handled = 0
        while outcomes := dispatch_due(factory, handlers, limit=5, now=now).outcomes:
            handled += len(outcomes)
        return handled

    handled = _race(database_url, run)
    assert handler.calls == Counter(dict.fromkeys(ids, 1))
    assert sum(handled) == 40
    with UnitOfWork.for_engine(engine) as uow:
        statuses = uow.session.scalars(select(OutboxMessageRow.status)).all()
    assert Counter(statuses) == {"done": 40}


def test_a_killed_workers_message_is_taken_up_once_its_lease_expires(
    engine: Engine, database_url: str
) -> None:
    ids = _enqueue(engine, 3)
    factory = make_session_factory(engine)
    lease = timedelta(minutes=5)
    taken = claim(factory, [KIND], limit=1, worker_id="killed", now=T0, lease_for=lambda _: lease)
    assert [message.id for message in taken] == ids[:1]  # claimed, committed, then the worker died
    assert _row(engine, ids[0]).status == "in_flight"
    handler = Counting()
    handlers = Handlers({KIND: Handler(handler, lease=lease)})
    during = dispatch_due(factory, handlers, now=T0 + timedelta(minutes=4))
    assert sorted(o.message.id for o in during.outcomes) == sorted(ids[1:])  # the claimed one waits
    after = T0 + lease + timedelta(seconds=1)
    reports = _race(database_url, lambda f: dispatch_due(f, handlers, now=after))
    assert [o.message.id for report in reports for o in report.outcomes] == ids[:1]
    assert handler.calls == Counter(dict.fromkeys(ids, 1))
    row = _row(engine, ids[0])
    assert (row.status, row.attempts) == ("done", 2) and row.claimed_by != "killed"


def test_a_worker_that_outlived_its_lease_cannot_overwrite_the_one_that_took_over(
    engine: Engine,
) -> None:
    (message_id,) = _enqueue(engine, 1)
    factory = make_session_factory(engine)
    lease = timedelta(seconds=30)
    handlers = Handlers({KIND: Handler(Counting(), lease=lease)})
    slow = Counting(fail_with=UpstreamFailure("store", "late"))
    slow_handlers = Handlers({KIND: Handler(slow, lease=lease)})

    def first_send(message: Message) -> Mapping[str, Any]:
        # While this worker is stuck, its lease runs out and another dispatcher finishes the message.
        assert dispatch_due(factory, handlers, now=T0 + timedelta(minutes=1)).counts == {"done": 1}
        return slow(message)

    stuck = Handlers({KIND: Handler(first_send, lease=lease)})
    report = dispatch_due(factory, stuck, now=T0)
    assert [outcome.recorded for outcome in report.outcomes] == [False]
    row = _row(engine, message_id)
    assert (row.status, row.last_error, row.attempts) == ("done", None, 2)
    assert slow_handlers.kinds == {KIND}
