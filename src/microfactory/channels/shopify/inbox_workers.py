"""The inbox's two background parts in the API process: the writer that stores deliveries in
batches, and the worker that turns stored deliveries into orders soon after.

Neither is needed for correctness: a delivery is stored before its 200, and `process_pending` (also
`microfactory shopify process-inbox`) picks up whatever a crash left behind.
"""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify.inbox import Delivery, Stored, process_pending, store_deliveries
from microfactory.db.group_commit import GroupCommit
from microfactory.db.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

BUSY_WINDOW = 0.2  # seconds since the last delivery during which the worker yields to intake
BUSY_PAUSE = 0.05


class InboxWriter:
    """Stores deliveries with group commit (`db.group_commit`): a burst of webhooks costs a few
    commits, and each delivery is still durable before its 200."""

    def __init__(self, factory: sessionmaker[Session], max_batch: int = 256) -> None:
        self._factory = factory
        self._group = GroupCommit(self._write, max_batch)

    async def store(self, delivery: Delivery) -> Stored:
        """Store one delivery durably; returns once its batch has committed."""
        return await self._group.submit(delivery)

    def _write(self, deliveries: list[Delivery]) -> list[Stored]:
        with UnitOfWork(self._factory) as uow, uow.write_turn():
            return store_deliveries(uow, deliveries)


class InboxWorker:
    """A background thread of the API process that drains the inbox soon after each delivery.

    `kick` wakes it; it also wakes every `interval` seconds to pick up deliveries left by a crash or
    stored by another process. It is a convenience for latency, not a guarantee: the CLI command
    `process-inbox` does the same work from cron or by hand.
    """

    def __init__(self, factory: sessionmaker[Session], interval: float = 5.0) -> None:
        self._factory = factory
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._last_kick = 0.0

    def kick(self) -> None:
        self._last_kick = time.monotonic()
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="shopify-inbox", daemon=True)
                self._thread.start()
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _give_way(self) -> None:
        """While deliveries are arriving, answering them comes first: processing can wait a little."""
        if time.monotonic() - self._last_kick < BUSY_WINDOW:
            self._stop.wait(BUSY_PAUSE)
        else:
            time.sleep(0)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                with UnitOfWork(self._factory) as uow:
                    report = process_pending(uow, between=self._give_way)
                if report.retried:
                    self._stop.wait(0.2)
                    self._wake.set()
            except Exception:  # keep the worker alive; the delivery rows say what failed
                log.exception("shopify inbox worker")
                self._stop.wait(1.0)
