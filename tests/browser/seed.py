"""A small world for the browser tests: keypads made and planned at Berlin, a line waiting for a
correction, and users of each kind (a planner, Berlin's operator, Lyon's operator)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service as order_service
from microfactory.orders.model import NewOrder, NewOrderLine
from microfactory.production.units import serials_of
from microfactory.web import users
from tests.integration.production.berlin_work import (
    KREUZBERG,
    make_work_order,
    operations,
    release,
    route_keypads,
)

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class World:
    made_order: str
    made_work_order: str
    serial: str
    attention_order: str
    attention_line: str
    berlin_operation: str
    work_orders: tuple[str, ...] = ()


def seed(engine: Engine, examples: Path) -> World:
    work_orders = route_keypads(engine, examples, ["black", "red", "white"])
    release(engine)
    make_work_order(engine, work_orders[0])
    with UnitOfWork.for_engine(engine) as uow:
        line = NewOrderLine(qty=1, product="KP", options={"keys": 100, "color": "black"})
        wrong = NewOrder(channel="test", external_id="FIX-1", lines=(line,), ship_to=KREUZBERG)
        order = order_service.intake(uow, wrong).order
        uow.commit()
        attention = (order.id, order.lines[0].id)
        made = order_service.get_work_order(uow, work_orders[0])
        serial = serials_of(uow, made.id)[0]
        made_order = made.line.order_id
        for name, role, site in (
            ("pat", "planner", None),
            ("bea", "site", "berlin"),
            ("leo", "site", "lyon"),
        ):
            users.add_user(uow, name, PASSWORD, role, site)
    waiting = operations(engine, "released")
    return World(made_order, work_orders[0], serial, *attention, str(waiting[0]["id"]), tuple(work_orders))
