"""Packing's rules: quality holds need an override, a site token packs and sees its own site only, the CLI
packs, lists, shows, prints and retries, and polling brings tracking news when no webhook comes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from microfactory.access.tokens import issue_token
from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.logistics import packing
from microfactory.logistics.handoff import Handoff
from microfactory.logistics.polling import poll_due
from microfactory.logistics.service import get_shipment
from microfactory.orders import service as order_service
from microfactory.orders import transitions
from microfactory.orders.lifecycle import WorkOrderStatus
from tests.conftest import ADMIN_TOKEN
from tests.integration.logistics.carriers import Clock, FlakyCarrier
from tests.integration.logistics.conftest import BERLIN_PARTNER, dispatch, made_order


def _hold(factory: sessionmaker[Session], order_id: str) -> None:
    with UnitOfWork(factory) as uow:
        work_order = order_service.get_order(uow, order_id).lines[0].work_order
        assert work_order is not None
        transitions.move_work(
            uow, work_order, WorkOrderStatus.HELD, reason="scratch on the lid", actor="inspector"
        )
        uow.commit()


def test_work_quality_holds_is_packed_only_with_an_audited_override(factory: sessionmaker[Session]) -> None:
    order_id = made_order(factory, "7001", channel="test")
    _hold(factory, order_id)
    with UnitOfWork(factory) as uow, pytest.raises(Conflict, match="held by quality"):
        packing.pack(uow, order_id, actor="packer")
    with UnitOfWork(factory) as uow:
        done = packing.pack(uow, order_id, override_reason="scratch is inside the case", actor="lead")
        uow.commit()
    assert done.shipments[0].override_reason == "scratch is inside the case"
    with UnitOfWork(factory) as uow:
        from microfactory.orders.listing import order_history

        reasons = [event.reason for event in order_history(uow, order_id)]
    assert any("override: scratch is inside the case" in reason for reason in reasons)


def test_polling_moves_a_parcel_no_webhook_spoke_of(
    factory: sessionmaker[Session], handoff: Handoff, courier: FlakyCarrier, clock: Clock
) -> None:
    order_id = made_order(factory, "7002", channel="test")
    with UnitOfWork(factory) as uow:
        shipment_id = packing.pack(uow, order_id, actor="packer").shipments[0].id
        uow.commit()
    dispatch(factory, handoff, clock())
    clock.advance(days=3)  # the simulated carrier has delivered it by now
    courier.failures = [None]
    report = poll_due(handoff, timedelta(hours=1))
    assert (report.asked, report.moved, report.errors) == (1, 1, [])
    assert poll_due(handoff, timedelta(hours=1)).asked == 0  # just heard of: not asked again
    with UnitOfWork(factory) as uow:
        row = get_shipment(uow, shipment_id)
        assert row.status == "delivered" and row.delivered_at is not None
        assert [line.status for line in order_service.get_order(uow, order_id).lines] == ["delivered"]


@pytest.fixture
def api(settings: Settings, logistics_engine: Engine, courier: FlakyCarrier) -> Iterator[TestClient]:
    app = create_app(
        settings.with_changes(
            outbox_interval_seconds=0,
            tracking_interval_seconds=0,
            jobs_in_process=False,
            shopify_inbox_autoprocess=False,
            telemetry_listen=False,
        ),  # no background writer racing the test's own writes to SQLite
        logistics_engine,
    )
    app.state.container.carriers.use(BERLIN_PARTNER, courier)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client


def test_a_site_token_packs_and_sees_its_own_parcels_only(
    api: TestClient, factory: sessionmaker[Session]
) -> None:
    order_id = made_order(factory, "7003", channel="test")
    with UnitOfWork(factory) as uow:
        berlin = issue_token(uow, "berlin-packing", "site", "berlin").secret
        lyon = issue_token(uow, "lyon-packing", "site", "lyon").secret
        uow.commit()
    refused = api.post(
        f"/api/v1/orders/{order_id}/pack", json={}, headers={"Authorization": f"Bearer {lyon}"}
    )
    assert refused.status_code == 409 and "at site lyon" in refused.json()["error"]
    packed = api.post(  # no body at all, as `curl -X POST` sends it: every made site
        f"/api/v1/orders/{order_id}/pack", headers={"Authorization": f"Bearer {berlin}"}
    )
    assert packed.status_code == 201, packed.text
    shipment_id = packed.json()["shipments"][0]["id"]
    again = api.post(f"/api/v1/orders/{order_id}/pack")
    assert again.status_code == 200 and again.json()["shipments"][0]["id"] == shipment_id
    assert api.get("/api/v1/shipments", headers={"Authorization": f"Bearer {lyon}"}).json() == []
    mine = api.get("/api/v1/shipments", headers={"Authorization": f"Bearer {berlin}"})
    assert [row["id"] for row in mine.json()] == [shipment_id] and mine.headers["X-Total-Count"] == "1"
    other = api.get(f"/api/v1/shipments/{shipment_id}", headers={"Authorization": f"Bearer {lyon}"})
    assert other.status_code == 403
    assert api.get(f"/api/v1/shipments/{shipment_id}/label").status_code == 409  # not bought yet
    assert api.get("/api/v1/shipments", params={"status": "lost"}).status_code == 422
    assert api.get("/api/v1/shipments/shp_nope").status_code == 404
    retried = api.post(f"/api/v1/shipments/{shipment_id}/retry")
    assert retried.status_code == 200 and retried.json()["handoff"]["status"] == "pending"


runner = CliRunner()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_cli_packs_lists_shows_prints_and_retries(
    sqlite_url: str, factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from microfactory.cli import context
    from microfactory.cli.main import app
    from microfactory.config import get_settings

    order_id = made_order(factory, "7004", channel="test")
    monkeypatch.setenv("MICROFACTORY_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    context.container.cache_clear()
    try:
        context.container().carriers.use(BERLIN_PARTNER, FlakyCarrier(Clock(datetime.now(UTC))))
        packed = runner.invoke(app, ["shipments", "pack", order_id, "--now", "--json"])
        assert packed.exit_code == 0, packed.output
        (parcel,) = json.loads(packed.output)["shipments"]
        assert parcel["status"] == "shipped" and parcel["tracking_number"]
        listed = runner.invoke(app, ["shipments", "list", "--json"])
        assert json.loads(listed.output)["total"] == 1
        misspelt = runner.invoke(app, ["shipments", "list", "--site", "berlni"])
        assert misspelt.exit_code == 2 and "no site 'berlni'" in misspelt.output, misspelt.output
        shown = runner.invoke(app, ["shipments", "show", parcel["id"]])
        assert shown.exit_code == 0 and parcel["tracking_number"] in shown.output
        out = tmp_path / "label.pdf"
        printed = runner.invoke(app, ["shipments", "label", parcel["id"], "--out", str(out)])
        assert printed.exit_code == 0 and out.read_bytes().startswith(b"%PDF")
        again = runner.invoke(app, ["shipments", "retry", parcel["id"]])
        assert again.exit_code == 4 and "nothing to retry" in again.output
        nothing = runner.invoke(app, ["shipments", "pack", order_id])
        assert nothing.exit_code == 0  # the same parcel again
        missing = runner.invoke(app, ["shipments", "show", "shp_nope"])
        assert missing.exit_code == 3
    finally:
        get_settings.cache_clear()
        context.container.cache_clear()
