"""Issue 10: a Shopify cancellation is final, and the shopify channel belongs to Shopify alone."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.catalog.service import active_catalogs
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service
from microfactory.orders.model import NewOrder, NewOrderLine
from tests.integration.channels.conftest import Deliver, updated


def _order(api: TestClient, external_id: object) -> dict[str, Any]:
    found = api.get("/api/v1/orders", params={"channel": "shopify", "external_id": str(external_id)}).json()
    assert len(found) == 1, found
    return dict(found[0])


def test_a_later_update_does_not_reopen_a_cancelled_order(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    deliver(order_create)
    process()
    cancelled_at = "2026-11-20T11:00:00+01:00"
    deliver(
        updated(order_create, cancelled_at, cancelled_at=cancelled_at, cancel_reason="customer"),
        topic="orders/cancelled",
    )
    process()
    later = updated(order_create, "2026-11-20T12:00:00+01:00", cancelled_at=None, note="late edit")
    deliver(later, topic="orders/updated")
    report = process()
    assert report.actions == {"order unchanged": 1}
    order = _order(api, order_create["id"])
    assert order["status"] == "cancelled"
    assert [line["status"] for line in order["lines"]] == ["cancelled", "cancelled"]


def test_no_api_token_writes_the_shopify_channel(api: TestClient, order_create: dict[str, Any]) -> None:
    body = {"channel": "shopify", "external_id": str(order_create["id"]), "lines": [{"product": "KP"}]}
    response = api.post("/api/v1/orders", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["problems"][0]["path"] == "channel"
    assert api.get("/api/v1/orders", params={"channel": "shopify"}).json() == []


def test_the_stores_line_set_wins_over_an_invented_line(
    api: TestClient,
    deliver: Deliver,
    process: Any,
    channel_engine: Engine,
    order_create: dict[str, Any],
) -> None:
    invented = NewOrder(
        channel="shopify",
        external_id=str(order_create["id"]),
        lines=(NewOrderLine(qty=5, product="KP", options={"keys": 12}),),
    )
    with UnitOfWork.for_engine(channel_engine) as uow:  # stored before the API refused such orders
        service.intake(uow, invented, active_catalogs(uow))
        uow.commit()
    deliver(order_create)
    process()
    order = _order(api, order_create["id"])
    live = [(line["sku"], line["qty"]) for line in order["lines"] if line["status"] != "cancelled"]
    assert live == [("KP8-TEAL", 1), ("KM-RED", 2)]
    assert order["lines"][0]["external_id"] is None and order["lines"][0]["status"] == "cancelled"
