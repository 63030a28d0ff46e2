"""Fixtures of the logistics tests: the example network (Berlin falls back to Lyon's courier), the keypad
catalog, a Shopify order and a test-channel order made in Berlin, and the handoff over test carriers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.channels.shopify import fulfilment_sync
from microfactory.db.engine import make_session_factory
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics.carrier_book import CarrierBook
from microfactory.logistics.handoff import Handoff
from microfactory.logistics.model import BreakerPolicy
from microfactory.logistics.packing import HANDOFF_KIND
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.orders import service as order_service
from microfactory.orders import transitions
from microfactory.orders.lifecycle import WorkOrderStatus
from microfactory.orders.model import Address, NewOrder, NewOrderLine
from microfactory.outbox.dispatcher import DispatchReport, Handlers, dispatch_due
from microfactory.production.units import make_units
from tests.integration.logistics.carriers import Clock, FlakyCarrier, WatchedCarrier

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Berlin
KREUZBERG = Address(
    name="Jonas Weber",
    line1="Oranienstr. 1",
    city="Berlin",
    postcode="10999",
    country="DE",
    latitude=52.50,
    longitude=13.42,
)
BERLIN_PARTNER, FALLBACK = "ber-cargobike", "lyo-courier"


def network_document() -> dict[str, Any]:
    document = copy.deepcopy(read_network_file(EXAMPLES / "network.yaml"))
    document["sites"]["berlin"]["fallback_partner"] = FALLBACK
    document["fulfilment_partners"][BERLIN_PARTNER]["policy"] = "fastest"
    return document


@pytest.fixture
def logistics_engine(engine: Engine, examples: Path) -> Engine:
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, network_document())
        uow.commit()
    return engine


@pytest.fixture
def factory(logistics_engine: Engine) -> sessionmaker[Session]:
    return make_session_factory(logistics_engine)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC) + timedelta(seconds=1))  # outbox messages are due from the real clock


@pytest.fixture
def courier(clock: Clock) -> FlakyCarrier:
    return FlakyCarrier(clock, "ber-cargobike")


@pytest.fixture
def fallback_courier(clock: Clock) -> WatchedCarrier:
    return WatchedCarrier(clock, "lyo-courier")


@pytest.fixture
def carriers(courier: FlakyCarrier, fallback_courier: WatchedCarrier) -> CarrierBook:
    book = CarrierBook()
    book.use(BERLIN_PARTNER, courier)
    book.use(FALLBACK, fallback_courier)
    return book


@pytest.fixture
def handoff(factory: sessionmaker[Session], carriers: CarrierBook, clock: Clock) -> Handoff:
    return Handoff(factory, carriers, clock, BreakerPolicy(3, timedelta(minutes=5)), worker="test-worker")


def made_order(
    factory: sessionmaker[Session],
    external_id: str,
    channel: str = "shopify",
    colours: tuple[str, ...] = ("BLACK",),
) -> str:
    """An order of keypads routed to Berlin, accepted and made there (units numbered): ready to pack."""
    lines = tuple(
        NewOrderLine(
            qty=1, product="KP", options={"keys": 4, "color": colour}, external_id=f"{external_id}{n}"
        )
        for n, colour in enumerate(colours, start=1)
    )
    order = NewOrder(
        channel=channel,
        external_id=external_id,
        lines=lines,
        ship_to=KREUZBERG,
        name=f"#{external_id}",
        attributes={"admin_graphql_api_id": f"gid://shopify/Order/{external_id}"},
    )
    with UnitOfWork(factory) as uow:
        order_id = order_service.intake(uow, order).order.id
        uow.commit()
    with UnitOfWork(factory) as uow:
        network_service.route_work_orders(uow, now=NOW)
        uow.commit()
    with UnitOfWork(factory) as uow:
        for row in uow.session.scalars(select(AssignmentRow).where(AssignmentRow.status == "offered")):
            network_service.accept(uow, row.id, actor="berlin")
        uow.commit()
    with UnitOfWork(factory) as uow:
        for line in order_service.get_order(uow, order_id).lines:
            work_order = line.work_order
            assert work_order is not None and work_order.site == "berlin", work_order
            for step in (WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.MADE):
                transitions.move_work(uow, work_order, step, reason="made for the test", actor="test")
            make_units(uow, work_order, "berlin", NOW + timedelta(hours=2))
        uow.commit()
    return order_id


def dispatch(
    factory: sessionmaker[Session], handoff: Handoff, now: datetime, worker: str = "w1", limit: int = 100
) -> DispatchReport:
    """One outbox round of the handoffs (and nothing else: Shopify's messages stay for checking)."""
    handlers = Handlers({HANDOFF_KIND: handoff.handler()})
    return dispatch_due(factory, handlers, kinds=[HANDOFF_KIND], now=now, worker_id=worker, limit=limit)


def shopify_messages(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    from microfactory.outbox.store import list_messages

    with UnitOfWork(factory) as uow:
        return [dict(row.payload) for row in list_messages(uow, kind=fulfilment_sync.KIND)]
