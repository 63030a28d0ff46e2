"""The inbox's two background parts in the API process: the writer that stores deliveries in
batches, and the worker that turns stored deliveries into orders soon after.

Neither is needed for correctness: a delivery is stored before its 200, and `process_pending` (also
`microfactory shopify process-inbox`) picks up whatever a crash left behind.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify.inbox import RECEIVED, Delivery, Stored, process_pending, store_deliveries
from microfactory.db.engine import is_busy, unwaited_write, write_lock
from microfactory.db.group_commit import GroupCommit
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Busy
from microfactory.jobs.defer import INBOX, defer_on_connection

log = logging.getLogger(__name__)

BUSY_WINDOW = 0.2  # seconds since the last delivery during which the worker yields to intake
BUSY_SHARE = 0.1  # while deliveries arrive, processing takes at most this share of the time
BUSY_PAUSE = 0.02  # and never less pause than this between two processed deliveries


class InboxWriter:
    """Stores deliveries with group commit (`db.group_commit`): a burst of webhooks costs a few
    commits, and each delivery is still durable before its 200.

    On SQLite a batch is written on the event loop's thread when nobody else is writing (one INSERT
    of a few rows, well under a millisecond), and in a worker thread otherwise. The loop's writes
    use a connection of their own, so that a pool lent out to request threads never makes the loop
    wait (those threads may need the loop to finish their responses before they give theirs back).
    """

    def __init__(self, engine: Engine, max_batch: int = 256, max_waiting: int = 4096) -> None:
        self._engine = engine
        self._max_waiting = max_waiting
        self._own: Connection | None = None  # used on the loop's thread only
        here = self._write_here if engine.dialect.name == "sqlite" else None
        self._group = GroupCommit(self._write, max_batch, here)

    def close(self) -> None:
        """Give back the loop's connection (at shutdown)."""
        if self._own is not None:
            self._own.close()
            self._own = None

    async def store(self, delivery: Delivery) -> Stored:
        """Store one delivery durably; returns once its batch has committed.

        Back-pressure: with `max_waiting` deliveries already queued for the database (a burst far
        above what it can commit), the delivery is refused at once with `Busy` (503 and
        Retry-After); Shopify sends it again later, and the server keeps answering instead of
        piling up memory and timeouts.
        """
        if self._group.waiting >= self._max_waiting:
            raise Busy(f"{self._group.waiting} deliveries wait for the database; send again shortly")
        return await self._group.submit(delivery)

    def _write(self, deliveries: list[Delivery]) -> list[Stored]:
        # A Core connection, not a session: the batch is one INSERT, and this is the hot path.
        with write_lock(self._engine), self._engine.begin() as connection:
            stored = store_deliveries(connection, deliveries)
            if any(one.status == RECEIVED for one in stored):
                defer_on_connection(connection, INBOX)  # PostgreSQL: the job commits with the rows
            return stored

    def _write_here(self, deliveries: list[Delivery]) -> list[Stored] | None:
        if self._own is None or self._own.closed or self._own.invalidated:
            self._own = self._engine.connect()
        try:
            with unwaited_write(self._engine, self._own) as connection:
                return None if connection is None else store_deliveries(connection, deliveries)
        except OperationalError as error:
            if is_busy(error):
                return None  # another process is writing: the thread will wait for it
            raise


class InboxWorker:
    """A background thread of the API process that drains the inbox soon after each delivery.

    `kick` wakes it; it also wakes every `interval` seconds to pick up deliveries left by a crash or
    stored by another process. It is a convenience for latency, not a guarantee: the CLI command
    `process-inbox` does the same work from cron or by hand.
    """

    def __init__(self, factory: sessionmaker[Session], interval: float = 5.0, batch: int = 1000) -> None:
        self._factory = factory
        self._interval = interval
        self._batch = batch
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._last_kick = 0.0
        self._resumed = 0.0  # when processing last resumed after giving way

    def start(self) -> None:
        """Start at once (the server does at start-up): what a restart left stored is taken up now."""
        self._start()
        self._wake.set()

    def kick(self) -> None:
        self._last_kick = time.monotonic()
        self._start()
        if not self._wake.is_set():
            self._wake.set()

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._start_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="shopify-inbox", daemon=True)
                    self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _give_way(self) -> None:
        """While deliveries are arriving, answering them comes first: processing can wait a little.

        Processing shares the interpreter (and its GIL) with the event loop that answers Shopify, so
        during a burst it pauses long enough after each delivery to use at most `BUSY_SHARE` of the
        time; a backlog is cleared at full speed once the burst is over.
        """
        now = time.monotonic()
        if now - self._last_kick < BUSY_WINDOW:
            worked = now - self._resumed
            self._stop.wait(max(BUSY_PAUSE, worked * (1 - BUSY_SHARE) / BUSY_SHARE))
        else:
            time.sleep(0)
        self._resumed = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            self._resumed = time.monotonic()
            try:
                with UnitOfWork(self._factory) as uow:
                    report = process_pending(uow, self._batch, between=self._give_way, stop=self._stop.is_set)
                if report.retried:
                    self._stop.wait(0.2)
                    self._wake.set()
                elif report.total >= self._batch:  # a full batch: more are waiting, go on now
                    self._wake.set()
            except Exception:  # keep the worker alive; the delivery rows say what failed
                log.exception("shopify inbox worker")
                self._stop.wait(1.0)
