"""The inbox writer on SQLite writes on the event loop only when that needs no waiting.

A writer of this process holding the write lock, or another process holding SQLite's own lock, must
not stall the loop that answers every other request: the batch goes to a thread that waits, and
the delivery is stored once the lock is free.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from microfactory.channels.shopify.inbox import RECEIVED, Delivery, Stored
from microfactory.channels.shopify.inbox_workers import InboxWriter
from microfactory.db.engine import make_engine, write_lock
from microfactory.db.migrate import upgrade
from microfactory.db.tables.channels import WebhookDeliveryRow

HELD = 0.4  # seconds the lock is held by someone else


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'inbox.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


def _delivery(n: int) -> Delivery:
    headers = {"x-shopify-webhook-id": f"wh-{n}", "x-shopify-topic": "orders/create"}
    return Delivery.read(headers, b'{"id": %d, "line_items": []}' % n)


def _stored(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(WebhookDeliveryRow.__table__)) or 0)


async def _store_while_ticking(writer: InboxWriter, delivery: Delivery) -> tuple[Stored, int, float]:
    """Store one delivery while a ticker counts 10 ms turns of the loop; returns the ticks seen."""
    ticks = 0
    started = time.monotonic()

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())
    stored = await writer.store(delivery)
    ticker.cancel()
    return stored, ticks, time.monotonic() - started


def _hold(lock: Callable[[], AbstractContextManager[object]]) -> threading.Thread:
    taken = threading.Event()

    def hold() -> None:
        with lock():
            taken.set()
            time.sleep(HELD)

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(5)
    return thread


def test_a_free_database_is_written_at_once(sqlite_engine: Engine) -> None:
    stored = asyncio.run(InboxWriter(sqlite_engine).store(_delivery(1)))
    assert stored.status == RECEIVED and stored.delivery_id is not None
    assert _stored(sqlite_engine) == 1


def test_a_writer_of_this_process_holding_the_lock_does_not_stall_the_loop(sqlite_engine: Engine) -> None:
    holder = _hold(lambda: write_lock(sqlite_engine))
    stored, ticks, waited = asyncio.run(_store_while_ticking(InboxWriter(sqlite_engine), _delivery(2)))
    holder.join()
    assert stored.status == RECEIVED
    assert waited >= HELD * 0.5  # it did wait for the lock...
    assert ticks >= 10  # ...while the loop kept turning
    assert _stored(sqlite_engine) == 1


def test_another_process_holding_sqlites_lock_does_not_stall_the_loop(sqlite_engine: Engine) -> None:
    path = sqlite_engine.url.database
    assert path is not None

    class OtherProcess:
        """A second connection, as another process would have, holding the write lock."""

        def __enter__(self) -> None:
            self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.connection.execute("BEGIN IMMEDIATE")

        def __exit__(self, *_: object) -> None:
            self.connection.execute("COMMIT")
            self.connection.close()

    holder = _hold(OtherProcess)
    stored, ticks, waited = asyncio.run(_store_while_ticking(InboxWriter(sqlite_engine), _delivery(3)))
    holder.join()
    assert stored.status == RECEIVED
    assert waited >= HELD * 0.5
    assert ticks >= 10
    assert _stored(sqlite_engine) == 1


def test_a_webhook_id_stored_before_is_a_duplicate_on_either_path(sqlite_engine: Engine) -> None:
    writer = InboxWriter(sqlite_engine)
    assert asyncio.run(writer.store(_delivery(4))).status == RECEIVED
    holder = _hold(lambda: write_lock(sqlite_engine))  # the second one goes through the thread
    again, _, _ = asyncio.run(_store_while_ticking(InboxWriter(sqlite_engine), _delivery(4)))
    holder.join()
    assert again.status == "duplicate" and again.delivery_id is None
    assert _stored(sqlite_engine) == 1


def test_a_pool_lent_out_to_request_threads_does_not_stall_the_loop(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}", pool_size=2, max_overflow=0)
    upgrade(engine)
    writer = InboxWriter(engine)

    class RequestThreads:
        """Request threads holding every connection the pool has left."""

        def __enter__(self) -> None:
            free = engine.pool.size() - engine.pool.checkedout()  # type: ignore[attr-defined]
            self.held = [engine.connect() for _ in range(free)]

        def __exit__(self, *_: object) -> None:
            for connection in self.held:
                connection.close()

    async def scenario() -> tuple[Stored, int, float]:
        await writer.store(_delivery(5))  # the writer's own connection is taken now, at the first write
        holder = _hold(RequestThreads)
        try:
            return await _store_while_ticking(writer, _delivery(6))
        finally:
            await asyncio.to_thread(holder.join)

    stored, _, waited = asyncio.run(scenario())
    writer.close()
    assert stored.status == RECEIVED
    assert waited < HELD / 2  # written at once on the loop's own connection
    assert _stored(engine) == 2
    engine.dispose()
