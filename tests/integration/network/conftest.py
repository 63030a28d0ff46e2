"""A migrated SQLite database with the example catalog and network loaded, and orders to route."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service
from microfactory.network.document import read_network_file
from microfactory.orders import service as order_service
from microfactory.orders.model import Address, NewOrder, NewOrderLine

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday morning in Europe
BERLIN = Address(name="Mira Weber", city="Berlin", country="DE", latitude=52.52, longitude=13.405)
LYON = Address(name="Hugo Martin", city="Lyon", country="FR", latitude=45.764, longitude=4.8357)


@pytest.fixture
def net_engine(database_url: str) -> Iterator[Engine]:
    """Every network service test runs on SQLite and on PostgreSQL (see tests/conftest.py)."""
    engine = make_engine(database_url)
    upgrade(engine)
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(EXAMPLES / "catalog-keypad.yaml"))
        service.load_network(uow, read_network_file(EXAMPLES / "network.yaml"))
        uow.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def open_uow(net_engine: Engine) -> Callable[[], UnitOfWork]:
    return lambda: UnitOfWork.for_engine(net_engine)


PlaceOrder = Callable[..., list[str]]


@pytest.fixture
def place_order(open_uow: Callable[[], UnitOfWork]) -> PlaceOrder:
    """`place_order(lines, ship_to=BERLIN, allow_split=False)`: take an order in; its work order ids."""
    counter = iter(range(1_000_000))

    def place(*lines: dict[str, Any], ship_to: Address = BERLIN, allow_split: bool = False) -> list[str]:
        new = NewOrder(
            channel="test",
            external_id=f"T-{next(counter)}",
            lines=tuple(NewOrderLine(qty=1, product="KP", options=options) for options in lines),
            ship_to=ship_to,
            allow_split=allow_split,
        )
        with open_uow() as uow:
            order = order_service.intake(uow, new).order
            ids = [line.work_order.id for line in order.lines if line.work_order is not None]
            uow.commit()
        return ids

    return place
