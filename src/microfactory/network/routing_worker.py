"""The background router: released work orders find a site without anyone pressing a button.

Intake stays fast (it only releases work orders); this worker routes whatever is released in
batches, and passes unanswered offers on when their site's time limit runs out. The CLI's
`network route --all` does the same work by hand or from cron.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microfactory.db import locks
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network.service import expire_overdue, route_work_orders
from microfactory.network.stored_state import NoNetwork
from microfactory.orders.model import WorkOrderStatus

log = logging.getLogger(__name__)


def route_released(uow: UnitOfWork) -> int:
    """Expire overdue offers and route every released work order; how many were routed."""
    with uow.write_turn():
        try:
            locks.hold(uow.session, locks.ROUTING)  # first: SQLite must not read before it writes
            expired = expire_overdue(uow)
            waiting = uow.session.scalar(
                select(WorkOrderRow.id).where(WorkOrderRow.status == WorkOrderStatus.RELEASED.value).limit(1)
            )
            routed = route_work_orders(uow) if waiting is not None else []
        except NoNetwork:
            uow.rollback()
            return 0
        uow.commit()
    return len(expired) + len(routed)


class RoutingWorker:
    """A daemon thread of the API process that routes every `interval` seconds."""

    def __init__(self, factory: sessionmaker[Session], interval: float = 2.0) -> None:
        self._factory = factory
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="router", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with UnitOfWork(self._factory) as uow:
                    route_released(uow)
            except Exception:  # keep routing alive; the next round tries again
                log.exception("routing round failed")
