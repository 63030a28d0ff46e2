"""A partner booked by hand stops at `label_bought`; a person enters the tracking number and the flow goes on."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from microfactory.api.app import create_app
from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.config import Settings
from microfactory.db.engine import make_session_factory
from microfactory.db.tables.channels import FulfilmentSyncRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics.carrier_book import CarrierBook
from microfactory.logistics.handoff import Handoff
from microfactory.network import service as network_service
from microfactory.outbox.model import MessageStatus
from tests.conftest import ADMIN_TOKEN
from tests.integration.logistics.conftest import (
    BERLIN_PARTNER,
    dispatch,
    made_order,
    network_document,
    shopify_messages,
)


def test_a_hand_booked_parcel_ships_once_its_tracking_number_is_entered(
    engine: Engine, examples: Path, settings: Settings
) -> None:
    document = network_document()
    document["fulfilment_partners"][BERLIN_PARTNER].pop("api")  # no API: a person books it (manual)
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        network_service.load_network(uow, document)
        uow.commit()
    factory = make_session_factory(engine)
    order_id = made_order(factory, "8001")
    quiet = settings.with_changes(
        outbox_interval_seconds=0, tracking_interval_seconds=0, jobs_in_process=False
    )
    with TestClient(create_app(quiet, engine)) as api:  # type: ignore[arg-type]
        api.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        (parcel,) = api.post(f"/api/v1/orders/{order_id}/pack", json={}).json()["shipments"]
        handoff = Handoff(factory, CarrierBook(), worker="w")
        from datetime import UTC, datetime

        assert dispatch(factory, handoff, datetime.now(UTC)).count(MessageStatus.DONE) == 1
        shown = api.get(f"/api/v1/shipments/{parcel['id']}").json()
        assert shown["status"] == "label_bought" and shown["carrier"] == "manual"
        assert "by hand" in shown["last_error"] and shopify_messages(factory) == []

        path = f"/api/v1/shipments/{parcel['id']}/tracking"
        bad = api.post(path, json={"tracking_number": "CB-1", "url": "ftp://x"})
        assert bad.status_code == 422, bad.text
        entry = {
            "tracking_number": "CB-7781",
            "carrier": "Kiez Kurier",
            "url": "https://kiez.example/t/CB-7781",
        }
        done = api.post(path, json=entry)
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "shipped" and done.json()["tracking_number"] == "CB-7781"
        assert api.post(path, json=entry).status_code == 200  # the same entry again changes nothing
        other = api.post(path, json={**entry, "tracking_number": "CB-9999"})
        assert other.status_code == 409, other.text
        (message,) = shopify_messages(factory)
        assert message["tracking_number"] == "CB-7781"
        with UnitOfWork(factory) as uow:
            (sync,) = uow.session.scalars(select(FulfilmentSyncRow)).all()
            assert (sync.tracking_company, sync.tracking_url) == ("Kiez Kurier", entry["url"])
        history = api.get(f"/api/v1/orders/{order_id}/history").json()
        assert any("entered by hand" in event["reason"] for event in history)
        order = api.get(f"/api/v1/orders/{order_id}").json()
        assert [line["status"] for line in order["lines"]] == ["shipped"]
