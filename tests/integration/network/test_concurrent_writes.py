"""A second writer while a router's or an expiry's transaction is open, on PostgreSQL's row locks.

The first transaction is left open on one engine while the second runs in a thread on another; the
second must wait for the first and then act on what it committed, not on what it read before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import pytest
from sqlalchemy import Engine, select

from microfactory.db.engine import make_engine
from microfactory.db.tables.network import AssignmentRow, ReservationRow
from microfactory.db.tables.orders import AuditEventRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service
from microfactory.orders import service as order_service
from microfactory.scheduling.service import plan_and_promise
from microfactory.scheduling.site_plan import SitePlanSettings

from .conftest import NOW, PlaceOrder

T = TypeVar("T")


@pytest.fixture
def other_engine(database_url: str, net_engine: Engine) -> Iterator[Engine]:
    if net_engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite lets one writer in at a time, the second waits before it reads")
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _meanwhile(engine: Engine, action: Callable[[UnitOfWork], T]) -> tuple[Future[T], ThreadPoolExecutor]:
    """Start `action` in its own unit of work on `engine`, in a thread; it commits when it returns."""

    def run() -> T:
        with UnitOfWork.for_engine(engine) as uow:
            result = action(uow)
            uow.commit()
            return result

    pool = ThreadPoolExecutor(max_workers=1)
    return pool.submit(run), pool


def _settle() -> None:
    time.sleep(1.0)  # long enough for the second writer to read and reach the lock it waits for


def test_a_cancel_during_routing_sees_the_offer_and_releases_it(
    net_engine: Engine, other_engine: Engine, place_order: PlaceOrder
) -> None:
    [wo] = place_order({"keys": 8, "color": "teal", "engraving": "Mira"})
    with UnitOfWork.for_engine(net_engine) as router:
        service.route_work_orders(router, now=NOW)
        router.session.flush()
        order_id = router.session.get(WorkOrderRow, wo).line.order_id  # type: ignore[union-attr]
        cancelled, pool = _meanwhile(
            other_engine, lambda uow: order_service.cancel_order(uow, order_id, "customer changed mind").id
        )
        _settle()
        assert not cancelled.done()  # it waits for the router's transaction
        router.commit()
    cancelled.result(timeout=30)
    pool.shutdown()
    with UnitOfWork.for_engine(net_engine) as uow:
        work_order = uow.session.get(WorkOrderRow, wo)
        assert work_order is not None and work_order.status == "cancelled"
        moves = uow.session.scalars(
            select(AuditEventRow)
            .where(AuditEventRow.entity == "work_order", AuditEventRow.entity_id == wo)
            .order_by(AuditEventRow.id)
        ).all()
        assert [(m.from_status, m.to_status) for m in moves][-1] == ("assigned", "cancelled")
        statuses = set(
            uow.session.scalars(select(AssignmentRow.status).where(AssignmentRow.work_order_id == wo))
        )
        assert statuses == {"released"}
        open_parts = uow.session.scalars(select(ReservationRow).where(ReservationRow.released_at.is_(None)))
        assert list(open_parts) == []


def test_an_accept_during_expiry_is_refused_not_written_over_it(
    net_engine: Engine, other_engine: Engine, place_order: PlaceOrder
) -> None:
    [wo] = place_order({"keys": 8, "color": "teal", "engraving": "Mira"})
    with UnitOfWork.for_engine(net_engine) as uow:
        [outcome] = service.route_work_orders(uow, now=NOW)
        uow.commit()
    offered = outcome.assignments[0].id
    with UnitOfWork.for_engine(net_engine) as expiry:
        service.expire_overdue(expiry, now=NOW + timedelta(hours=5))
        expiry.session.flush()
        accepted, pool = _meanwhile(other_engine, lambda uow: service.accept(uow, offered).status)
        _settle()
        assert not accepted.done()
        expiry.commit()
    with pytest.raises(service.AssignmentConflict):
        accepted.result(timeout=30)
    pool.shutdown()
    with UnitOfWork.for_engine(net_engine) as uow:
        rows = uow.session.scalars(select(AssignmentRow).where(AssignmentRow.work_order_id == wo)).all()
        assert {row.id: row.status for row in rows if row.id == offered} == {offered: "expired"}
        assert [row.status for row in rows].count("offered") == 1  # the next site's offer, alone


def test_a_plan_written_during_a_cancel_does_not_schedule_the_cancelled_work(
    net_engine: Engine, other_engine: Engine, place_order: PlaceOrder
) -> None:
    """A guard rather than a reproduction: before the claim, this interleaving was saved by the
    cancel's lock on the assignment; the claim also covers the others (see decision 0009)."""
    [wo] = place_order({"keys": 8, "color": "teal", "engraving": "Mira"})
    with UnitOfWork.for_engine(net_engine) as uow:
        [outcome] = service.route_work_orders(uow, now=NOW)
        uow.commit()
    assert outcome.site == "berlin"
    with UnitOfWork.for_engine(net_engine) as canceller:
        order_id = order_service.get_work_order(canceller, wo).line.order_id
        order_service.cancel_order(canceller, order_id, "customer changed mind")
        canceller.session.flush()
        settings = SitePlanSettings(time_limit=2)
        planned, pool = _meanwhile(
            other_engine, lambda uow: plan_and_promise(uow, "berlin", NOW, settings)[1]
        )
        _settle()
        canceller.commit()
    planned.result(timeout=60)
    pool.shutdown()
    with UnitOfWork.for_engine(net_engine) as uow:
        assert order_service.get_work_order(uow, wo).status == "cancelled"
        statuses = set(
            uow.session.scalars(select(AssignmentRow.status).where(AssignmentRow.work_order_id == wo))
        )
        assert statuses == {"released"}
