"""Two routers at once, each with its own engine (two processes' worth of connections).

Routing reads every site's load and stock before it decides, so two routers deciding on the same
data would offer a work order twice and reserve its parts twice. These tests start both at one
barrier and check the stored result: one active assignment per work order, no doubled reservation.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from microfactory.db.engine import make_engine
from microfactory.db.tables.network import AssignmentRow, ReservationRow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service

from .conftest import BERLIN, LYON, NOW, PlaceOrder

ACTIVE = ("offered", "accepted")


def _route_at_once(url: str, threads: int = 2) -> list[int]:
    """Route everything released from `threads` engines started together; outcomes per router."""
    barrier = threading.Barrier(threads)

    def route(_: int) -> int:
        engine = make_engine(url)
        try:  # a failing thread breaks the barrier, so the other one fails too instead of waiting
            with UnitOfWork.for_engine(engine) as uow:
                barrier.wait(timeout=60)
                outcomes = service.route_work_orders(uow, now=NOW, actor="router")
                uow.commit()
                return sum(len(outcome.work_order_ids) for outcome in outcomes)
        except BaseException:
            barrier.abort()
            raise
        finally:
            engine.dispose()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(route, range(threads)))


def test_two_routers_at_once_offer_each_work_order_once(
    database_url: str, net_engine: Engine, place_order: PlaceOrder
) -> None:
    work_orders: list[str] = []
    for n in range(20):
        options = {"keys": 8, "color": "teal", "engraving": f"N{n}"}
        work_orders += place_order(options, ship_to=LYON if n % 2 else BERLIN, allow_split=True)
    routed = _route_at_once(database_url)
    assert sum(routed) == len(work_orders)  # each routed by one router only
    with UnitOfWork.for_engine(net_engine) as uow:
        assignments = list(uow.session.scalars(select(AssignmentRow)))
        active = Counter(row.work_order_id for row in assignments if row.status in ACTIVE)
        assert active == dict.fromkeys(work_orders, 1)
        open_parts = list(
            uow.session.scalars(select(ReservationRow).where(ReservationRow.released_at.is_(None)))
        )
        offered = {row.id for row in assignments if row.status in ACTIVE and not row.central}
        assert {row.assignment_id for row in open_parts} <= offered
        per_part = Counter((row.assignment_id, row.part) for row in open_parts)
        assert set(per_part.values()) == {1}  # each part reserved once for its one offer
        statuses = set(uow.session.scalars(select(WorkOrderRow.status)))
        assert statuses == {"assigned"}


def test_the_database_refuses_a_second_active_assignment(
    net_engine: Engine, place_order: PlaceOrder, open_uow: Callable[[], UnitOfWork]
) -> None:
    [wo] = place_order({"keys": 8, "color": "teal"})
    with open_uow() as uow:
        service.route_work_orders(uow, now=NOW)
        uow.commit()
    with open_uow() as uow:
        row = uow.session.scalar(select(AssignmentRow).where(AssignmentRow.work_order_id == wo))
        assert row is not None
        twin = AssignmentRow(
            id="asg-twin",
            work_order_id=wo,
            order_id=row.order_id,
            group_id=wo,
            network=row.network,
            site="lyon",
            status="offered",
            minutes={},
            explanation={},
        )
        uow.session.add(twin)
        with pytest.raises(IntegrityError):
            uow.session.flush()
