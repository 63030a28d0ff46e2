"""Fixtures of the logistics tests: the fake EasyPost, Shippo and courier servers on loopback with adapters
pointed at them and a webhook receiver; the example network (Berlin falls back to Lyon's courier), the keypad
catalog, orders made in Berlin, and the handoff over test carriers."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.channels.shopify import fulfilment_sync
from microfactory.db.engine import make_session_factory
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Forbidden, Invalid
from microfactory.logistics.carrier_book import CarrierBook
from microfactory.logistics.carriers import CarrierEvents, Parcel, Place, TrackingStatus
from microfactory.logistics.carriers.easypost import EasyPostCarrier
from microfactory.logistics.carriers.local_courier import LocalCourier
from microfactory.logistics.carriers.shippo import ShippoCarrier
from microfactory.logistics.handoff import Handoff
from microfactory.logistics.model import BreakerPolicy
from microfactory.logistics.packing import HANDOFF_KIND
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.orders import service as order_service
from microfactory.orders import transitions
from microfactory.orders.lifecycle import WorkOrderStatus
from microfactory.orders.model import Address, NewOrder, NewOrderLine
from microfactory.outbound_http import RetryPolicy
from microfactory.outbox.dispatcher import DispatchReport, Handlers, dispatch_due
from microfactory.production.units import make_units
from tests.fakes.carriers import FakeCourier, FakeEasyPost, FakeShippo
from tests.integration.live_server import live_server
from tests.integration.logistics.carriers import Clock, FlakyCarrier, WatchedCarrier

QUICK = RetryPolicy(attempts=3, base_delay=0.0, jitter=0.0)
CLIENT_TIMEOUT = 0.5  # the fakes hang 1.5 s when told to time out
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BERLIN = Place("DE", "Berlin", "10997", "Wiener Str. 12", "Microfactory Berlin", 52.4986, 13.4035)
CUSTOMER = Place("DE", "Potsdam", "14467", "Brandenburger Str. 3", "A. Customer", 52.3906, 13.0645)
PARCEL = Parcel(Decimal("1.2"))


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def easypost_fake() -> Iterator[FakeEasyPost]:
    with FakeEasyPost() as fake:
        yield fake


@pytest.fixture
def shippo_fake() -> Iterator[FakeShippo]:
    with FakeShippo() as fake:
        yield fake


@pytest.fixture
def courier_fake() -> Iterator[FakeCourier]:
    with FakeCourier() as fake:
        yield fake


def easypost_at(fake: FakeEasyPost, key: str | None = None, secret: str | None = None) -> EasyPostCarrier:
    return EasyPostCarrier(
        key or fake.api_key,
        webhook_secret=secret or fake.webhook_secret,
        base_url=fake.api_url,
        policy=QUICK,
        sleep=no_sleep,
        timeout=CLIENT_TIMEOUT,
    )


def shippo_at(fake: FakeShippo, key: str | None = None, secret: str | None = None) -> ShippoCarrier:
    return ShippoCarrier(
        key or fake.api_key,
        webhook_secret=secret or fake.webhook_secret,
        base_url=fake.api_url,
        policy=QUICK,
        sleep=no_sleep,
        timeout=CLIENT_TIMEOUT,
    )


def courier_at(fake: FakeCourier, secret: str | None = None) -> LocalCourier:
    return LocalCourier(
        fake.handoff_url,
        secret or fake.secret,
        name="ber-cargobike",
        secret_env="BER_CARGOBIKE_SECRET",
        clock=lambda: T0,
        policy=QUICK,
        sleep=no_sleep,
        timeout=CLIENT_TIMEOUT,
    )


@dataclass
class Receiver:
    """Our side of the webhooks: each POST is read by `events`; 200, 403 or 422 as the API would."""

    events: CarrierEvents | None = None
    url: str = ""
    read: list[TrackingStatus | None] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    app = FastAPI()

    @app.post("/webhooks/{carrier:path}")
    async def webhook(carrier: str, request: Request) -> JSONResponse:
        assert found.events is not None
        try:
            status = found.events.read_event(
                await request.body(), dict(request.headers), dict(request.query_params)
            )
        except Forbidden as refused:
            return JSONResponse({"error": str(refused)}, 403)
        except Invalid as invalid:
            return JSONResponse(invalid.as_dict(), 422)
        found.read.append(status)
        return JSONResponse({"ok": True})

    with live_server(app) as url:
        found.url = url
        yield found


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
    """One outbox round of the handoffs (and nothing else: Shopify's messages stay for checking).

    Messages are queued on the real clock; a slow machine may have passed the test clock's start, so
    the round runs no earlier than now."""
    now = max(now, datetime.now(UTC) + timedelta(milliseconds=10))
    handlers = Handlers({HANDOFF_KIND: handoff.handler()})
    return dispatch_due(factory, handlers, kinds=[HANDOFF_KIND], now=now, worker_id=worker, limit=limit)


def shopify_messages(factory: sessionmaker[Session]) -> list[dict[str, Any]]:
    from microfactory.outbox.store import list_messages

    with UnitOfWork(factory) as uow:
        return [dict(row.payload) for row in list_messages(uow, kind=fulfilment_sync.KIND)]
