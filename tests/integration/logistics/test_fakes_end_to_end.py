"""Issue 14's Done-when against the fake EasyPost, Shippo and courier servers on loopback.

Berlin's partner is pointed at each fake through the network file (`fake.partner()`), so the adapter is
built as in production, from the document and the environment. Made units -> parcel -> rate -> label ->
pickup -> the fake's signed tracking webhook through the real route -> delivered -> the Shopify fulfilment
message with the tracking number. On the way the partner fails (timeouts, 500s), loses the answer of the
purchase (`crash_after_buy`), and the worker dies right after buying and again right after booking the
pickup: one label per parcel, one pickup where the carrier lets us find it again, nothing lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from microfactory.api.app import create_app
from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.config import Settings
from microfactory.db.engine import make_session_factory
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics.carrier_book import CarrierBook
from microfactory.logistics.handoff import Handoff
from microfactory.logistics.model import BreakerPolicy
from microfactory.logistics.service import get_shipment
from microfactory.network import service as network_service
from microfactory.outbox.model import MessageStatus
from tests.conftest import ADMIN_TOKEN
from tests.fakes.carriers import FakeCarrierServer, FakeCourier, FakeEasyPost, FakeShippo
from tests.integration.logistics.carriers import Killed
from tests.integration.logistics.conftest import (
    BERLIN_PARTNER,
    dispatch,
    made_order,
    network_document,
    shopify_messages,
)

FAKES: dict[str, Callable[[], FakeCarrierServer]] = {
    "easypost": lambda: FakeEasyPost(hang_seconds=0.3),
    "shippo": lambda: FakeShippo(hang_seconds=0.3),
    "courier": lambda: FakeCourier(hang_seconds=0.3),
}
ROUTES = {
    "easypost": "/webhooks/easypost",
    "shippo": "/webhooks/shippo",
    "courier": f"/webhooks/courier/{BERLIN_PARTNER}",
}
LEASE_OVER = timedelta(minutes=10)  # a dead worker's message is taken up again after its lease


@pytest.fixture(params=sorted(FAKES))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(kind: str) -> Iterator[FakeCarrierServer]:
    with FAKES[kind]() as server:
        yield server


@pytest.fixture
def fake_engine(
    engine: Engine, examples: Path, fake: FakeCarrierServer, monkeypatch: pytest.MonkeyPatch
) -> Engine:
    """The example network, Berlin's partner speaking to the fake; its secrets in the environment."""
    spec, environ = fake.partner("BER")
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    document = network_document()
    document["fulfilment_partners"][BERLIN_PARTNER] = {**spec, "policy": "cheapest"}
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, document)
        uow.commit()
    return engine


def _worker(factory: sessionmaker[Session], name: str) -> Handoff:
    """A worker process of its own: carriers built afresh from the network (nothing remembered)."""
    return Handoff(factory, CarrierBook(), breaker=BreakerPolicy(5, timedelta(minutes=5)), worker=name)


def _die_after(handoff: Handoff, method: str) -> list[str]:
    """Make the worker's carrier die (SIGKILL) right after `method` succeeded at the carrier, once."""
    with UnitOfWork(handoff.factory) as uow:
        from microfactory.logistics.carrier_book import partner_specs

        spec = partner_specs(uow)[BERLIN_PARTNER]
    carrier = handoff.carriers.carrier(BERLIN_PARTNER, spec)
    real = getattr(carrier, method)
    done: list[str] = []

    def then_die(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        done.append(method)
        raise Killed(f"killed after {method}")

    setattr(carrier, method, then_die)
    return done


def _round(handoff: Handoff, at: datetime, worker: str) -> list[str]:
    report = dispatch(handoff.factory, handoff, at, worker=worker)
    return [str(outcome.status) for outcome in report.outcomes]


def _pickups(kind: str, fake: FakeCarrierServer) -> int:
    if isinstance(fake, FakeCourier):
        return len(fake.collections)
    return len(getattr(fake, "pickups"))  # noqa: B009 - EasyPost's and Shippo's fakes both keep them


def test_each_partner_takes_the_parcel_to_the_customer_through_faults(
    kind: str,
    fake: FakeCarrierServer,
    fake_engine: Engine,
    settings: Settings,
) -> None:
    factory = make_session_factory(fake_engine)
    order_id = made_order(factory, f"71{len(kind)}")
    quiet = settings.with_changes(
        outbox_interval_seconds=0, tracking_interval_seconds=0, jobs_in_process=False
    )
    app = create_app(quiet, fake_engine)  # type: ignore[arg-type]
    with TestClient(app) as api:
        api.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        packed = api.post(f"/api/v1/orders/{order_id}/pack", json={})
        assert packed.status_code == 201, packed.text
        (parcel,) = packed.json()["shipments"]
        now = datetime.now(UTC)

        # 1. the partner times out and answers 500 on every attempt of the first call: the handoff waits
        fake.fail_next(2, "timeout")
        fake.fail_next(2, "500")
        assert _round(_worker(factory, "first"), now, "first") == ["failed"]
        assert fake.purchases == 0

        # 2. the purchase's answer is lost at the carrier, and the worker dies right after buying
        fake.fail_next(1, "crash_after_buy")
        doomed = _worker(factory, "doomed")
        died = _die_after(doomed, "buy")
        with pytest.raises(Killed):
            _round(doomed, now + timedelta(hours=1), "doomed")
        assert died == ["buy"] and fake.purchases == 1
        assert get_shipment_status(factory, parcel["id"]) == ("packed", None)

        # 3. its heir (carriers built afresh) finds the same label, then dies right after booking the pickup
        heir = _worker(factory, "heir")
        died = _die_after(heir, "book_pickup")
        with pytest.raises(Killed):
            _round(heir, now + timedelta(hours=1) + LEASE_OVER, "heir")
        assert died == ["book_pickup"] and fake.purchases == 1
        status, number = get_shipment_status(factory, parcel["id"])
        assert status == "label_bought" and number

        # 4. the last worker books the pickup again under the same key and tells the store
        last = _worker(factory, "last")
        assert _round(last, now + timedelta(hours=1) + 2 * LEASE_OVER, "last") == [MessageStatus.DONE]
        assert fake.purchases == 1  # one label per parcel
        assert _pickups(kind, fake) == (2 if kind == "shippo" else 1)  # Shippo lists no pickups to find
        shown = api.get(f"/api/v1/shipments/{parcel['id']}").json()
        assert shown["status"] == "shipped" and shown["tracking_number"] == number and shown["pickup_id"]
        assert shown["rate"]["shipment_id"] or kind == "courier"  # kept whole for a retry elsewhere
        label = api.get(f"/api/v1/shipments/{parcel['id']}/label")
        assert label.status_code == 200 and label.content.startswith(b"%PDF")
        assert any(request.startswith("GET /labels/") for request in fake.requests)  # fetched from Label.url
        (message,) = shopify_messages(factory)
        assert message["tracking_number"] == number and message["lines"][0]["qty"] == 1

        # 5. the fake's signed webhook through the real route: in transit, then delivered
        for state in ("in_transit", "delivered"):
            body, headers, url = fake.tracking_webhook(number, state, f"http://testserver{ROUTES[kind]}")
            answer = api.post(url.removeprefix("http://testserver"), content=body, headers=headers)
            assert answer.status_code == 200 and answer.json()["outcome"] == "moved", answer.text
        forged = fake.tracking_webhook(number, "delivered", f"http://testserver{ROUTES[kind]}")
        tampered = forged[0].replace(b"delivered", b"returned")
        refused = api.post(forged[2].removeprefix("http://testserver"), content=tampered, headers=forged[1])
        assert refused.status_code == 403 or kind == "shippo"  # Shippo signs the URL, not the body
        order = api.get(f"/api/v1/orders/{order_id}").json()
        assert [line["status"] for line in order["lines"]] == ["delivered"]
        assert api.get(f"/api/v1/shipments/{parcel['id']}").json()["delivered_at"] is not None


def get_shipment_status(factory: sessionmaker[Session], shipment_id: str) -> tuple[str, str | None]:
    with UnitOfWork(factory) as uow:
        row = get_shipment(uow, shipment_id)
        return row.status, row.tracking_number
