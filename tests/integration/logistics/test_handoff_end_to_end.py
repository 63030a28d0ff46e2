"""Issue 14 end to end: made units -> parcel -> rate -> label -> pickup -> tracking webhook -> delivered ->
Shopify fulfilment message with the tracking number; and with the partner failing in the middle (timeouts,
500s) and a worker killed right after buying: one label per parcel, nothing lost."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics import packing
from microfactory.logistics.handoff import Handoff
from microfactory.outbox.model import MessageStatus
from microfactory.outbox.store import list_messages
from tests.conftest import ADMIN_TOKEN
from tests.integration.logistics.carriers import (
    Clock,
    FlakyCarrier,
    Killed,
    WatchedCarrier,
    server_error,
    signed,
    timeout,
)
from tests.integration.logistics.conftest import BERLIN_PARTNER, dispatch, made_order, shopify_messages


def _pack(factory: sessionmaker[Session], order_id: str) -> str:
    with UnitOfWork(factory) as uow:
        done = packing.pack(uow, order_id, actor="packer")
        uow.commit()
    assert len(done.shipments) == 1 and done.created
    return done.shipments[0].id


def test_made_units_reach_the_customer_and_the_store_hears_the_tracking_number(
    factory: sessionmaker[Session],
    handoff: Handoff,
    courier: FlakyCarrier,
    clock: Clock,
    settings: Settings,
    logistics_engine: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EASYPOST_API_KEY", "ep-test-key")  # mil-pony's EasyPost adapter is built from these
    monkeypatch.setenv("EASYPOST_WEBHOOK_SECRET", "ep-webhook-secret")
    order_id = made_order(factory, "5001")
    app = create_app(
        settings.with_changes(outbox_interval_seconds=0, tracking_interval_seconds=0, jobs_in_process=False),
        logistics_engine,
    )  # type: ignore[arg-type]
    app.state.container.carriers.use(BERLIN_PARTNER, courier)
    with TestClient(app) as api:
        api.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        packed = api.post(f"/api/v1/orders/{order_id}/pack", json={})
        assert packed.status_code == 201, packed.text
        (parcel,) = packed.json()["shipments"]
        assert parcel["status"] == "packed" and parcel["partner"] == BERLIN_PARTNER
        assert len(parcel["units"]) == 1 and parcel["units"][0].startswith("MF-BERLIN-")
        assert float(parcel["mass_kg"]) > 0.15  # parts plus packaging
        assert api.post(f"/api/v1/orders/{order_id}/pack", json={}).status_code == 200  # the same parcel

        report = dispatch(factory, handoff, clock())
        assert report.count(MessageStatus.DONE) == 1, report.outcomes
        shown = api.get(f"/api/v1/shipments/{parcel['id']}").json()
        assert shown["status"] == "shipped" and shown["pickup_id"] == "pck_1"
        assert shown["policy"] == "fastest"  # both services take a day across town: the cheaper one wins
        assert (shown["rate"]["service"], shown["rate"]["days"]) == ("economy", 1)
        number = shown["tracking_number"]
        assert courier.purchases == [parcel["id"]] and courier.pickups

        label = api.get(f"/api/v1/shipments/{parcel['id']}/label")
        assert label.status_code == 200 and label.headers["content-type"] == "application/pdf"
        assert label.content.startswith(b"%PDF")

        (message,) = shopify_messages(factory)
        assert message["tracking_number"] == number and message["lines"][0]["qty"] == 1
        order = api.get(f"/api/v1/orders/{order_id}").json()
        assert [line["status"] for line in order["lines"]] == ["shipped"]
        assert order["shipments"] == [
            {
                "id": parcel["id"],
                "partner": BERLIN_PARTNER,
                "carrier": "local_courier",
                "tracking_number": number,
                "status": "shipped",
                "lines": [{"line_id": order["lines"][0]["id"], "qty": 1}],
            }
        ]

        at = clock.advance(hours=20).isoformat()
        event = {
            "type": "status",
            "tracking_number": number,
            "state": "delivered",
            "at": at,
            "message": "left with neighbour",
        }
        body, headers = signed(event)
        bad = api.post(
            f"/webhooks/courier/{BERLIN_PARTNER}", content=body, headers={**headers, "X-Signature": "0" * 64}
        )
        assert bad.status_code == 403
        first = api.post(f"/webhooks/courier/{BERLIN_PARTNER}", content=body, headers=headers)
        again = api.post(f"/webhooks/courier/{BERLIN_PARTNER}", content=body, headers=headers)
        assert first.json()["outcome"] == "moved" and again.json()["outcome"] == "duplicate"
        malformed = api.post(
            f"/webhooks/courier/{BERLIN_PARTNER}", content=signed(b"{")[0], headers=signed(b"{")[1]
        )
        assert malformed.status_code == 422, malformed.text
        other = api.post(
            f"/webhooks/courier/{BERLIN_PARTNER}",
            content=signed({"type": "ping"})[0],
            headers=signed({"type": "ping"})[1],
        )
        assert other.status_code == 200 and other.json()["outcome"] == "ignored"
        stranger = {**event, "tracking_number": "NOT-OURS"}
        unknown = api.post(
            f"/webhooks/courier/{BERLIN_PARTNER}", content=signed(stranger)[0], headers=signed(stranger)[1]
        )
        assert unknown.status_code == 200 and unknown.json()["outcome"] == "unknown tracking number"
        anonymous = api.post("/webhooks/easypost", content=body, headers={"Authorization": ""})
        assert anonymous.status_code == 403, anonymous.text  # mil-pony's EasyPost: an unsigned event

        order = api.get(f"/api/v1/orders/{order_id}").json()
        assert [line["status"] for line in order["lines"]] == ["delivered"]
        assert order["shipments"][0]["status"] == "delivered"
        shown = api.get(f"/api/v1/shipments/{parcel['id']}").json()
        assert shown["delivered_at"] is not None and shown["late_hours"] is not None
        history = api.get(f"/api/v1/orders/{order_id}/history").json()
        assert any(
            e["entity"] == "shipment" and e["to"] == "delivered" and "promised by" in e["reason"]
            for e in history
        )
        trace = api.get(f"/api/v1/units/{parcel['units'][0]}").json()
        assert trace["shipment"]["id"] == parcel["id"] and trace["shipment"]["status"] == "delivered"


def test_a_failing_partner_and_a_killed_worker_still_make_one_label(
    factory: sessionmaker[Session], handoff: Handoff, courier: FlakyCarrier, clock: Clock
) -> None:
    order_id = made_order(factory, "5002")
    shipment_id = _pack(factory, order_id)
    courier.failures = [timeout(), server_error()]  # two failures: below the breaker's three
    assert dispatch(factory, handoff, clock()).count(MessageStatus.FAILED) == 1
    assert dispatch(factory, handoff, clock.advance(hours=1)).count(MessageStatus.FAILED) == 1
    courier.kill_after_buy = True
    with pytest.raises(Killed):
        dispatch(factory, handoff, clock.advance(hours=1), worker="doomed")
    assert courier.purchases == [shipment_id]  # bought, but nothing recorded: the message is in flight
    with UnitOfWork(factory) as uow:
        (message,) = list_messages(uow, kind=packing.HANDOFF_KIND)
        assert message.status == MessageStatus.IN_FLIGHT
    assert dispatch(factory, handoff, clock.advance(minutes=1)).outcomes == []  # its lease still holds
    report = dispatch(factory, handoff, clock.advance(minutes=10), worker="heir")
    assert report.count(MessageStatus.DONE) == 1, report.outcomes
    assert courier.purchases == [shipment_id]  # asked again under the same key: the same label
    assert courier.buy_calls == [shipment_id, shipment_id]
    (message,) = shopify_messages(factory)
    with UnitOfWork(factory) as uow:
        from microfactory.logistics.service import get_shipment

        row = get_shipment(uow, shipment_id)
        assert row.status == "shipped" and message["tracking_number"] == row.tracking_number


def test_a_paused_partner_hands_new_parcels_to_the_fallback_with_an_alert(
    factory: sessionmaker[Session],
    handoff: Handoff,
    courier: FlakyCarrier,
    fallback_courier: WatchedCarrier,
    clock: Clock,
) -> None:
    first = _pack(factory, made_order(factory, "5003"))
    courier.failures = [timeout()] * 3
    for _ in range(3):
        dispatch(factory, handoff, clock.advance(hours=1))
    second = _pack(factory, made_order(factory, "5004"))
    report = dispatch(factory, handoff, clock.advance(seconds=1))  # the partner is paused now
    assert report.count(MessageStatus.DONE) == 1, report.outcomes
    assert fallback_courier.purchases == [second]  # the first waits for its backoff
    with UnitOfWork(factory) as uow:
        from microfactory.production.telemetry.service import open_alerts

        alerts = [alert for alert in open_alerts(uow) if alert.kind == "carrier"]
        assert [alert.machine for alert in alerts] == [BERLIN_PARTNER]
    clock.advance(minutes=10)  # the cool-down is over: one probe, which succeeds, closes the breaker
    report = dispatch(factory, handoff, clock(), limit=10)
    with UnitOfWork(factory) as uow:
        from microfactory.logistics.service import list_shipments
        from microfactory.production.telemetry.service import open_alerts

        statuses = {row.id: (row.status, row.partner) for row in list_shipments(uow).items}
        assert all(status == "shipped" for status, _ in statuses.values()), statuses
        assert {partner for _, partner in statuses.values()} == {BERLIN_PARTNER, "lyo-courier"}
        assert not [alert for alert in open_alerts(uow) if alert.kind == "carrier"]
    assert courier.purchases == [first]  # nothing bought there before the pause: it waited, then went
