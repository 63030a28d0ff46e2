"""The background router: released work orders find a site without anyone pressing a button.

Intake stays fast (it only releases work orders); this worker routes whatever is released in
batches, and passes unanswered offers on when their site's time limit runs out. The CLI's
`network route --all` does the same work by hand or from cron.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microfactory.background import PeriodicThread
from microfactory.db import locks
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network.service import expire_overdue, route_work_orders
from microfactory.network.stored_state import NoNetwork
from microfactory.orders.model import WorkOrderStatus


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


class RoutingWorker(PeriodicThread):
    """A daemon thread of the API process that routes every `interval` seconds."""

    def __init__(self, factory: sessionmaker[Session], interval: float = 2.0) -> None:
        super().__init__("router", interval)
        self._factory = factory

    def round(self) -> None:
        with UnitOfWork(self._factory) as uow:
            route_released(uow)
