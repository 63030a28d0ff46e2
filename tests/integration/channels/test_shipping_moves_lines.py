"""Issue 10: a shipment needs made work (or an override), moves its lines to shipped, and is checked once."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from microfactory.channels.shopify.shipment_request import check_shipment
from microfactory.errors import Invalid
from tests.integration.channels.conftest import Deliver, make_everything


def _take_in(api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]) -> dict[str, Any]:
    deliver(order_create)
    process()
    found = api.get("/api/v1/orders", params={"channel": "shopify", "external_id": str(order_create["id"])})
    return dict(found.json()[0])


def test_work_not_made_does_not_ship_without_an_override(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    order = _take_in(api, deliver, process, order_create)
    path = f"/api/v1/orders/{order['id']}/shipments"
    refused = api.post(path, json={"tracking_number": "T-1"})
    assert refused.status_code == 409 and "not made" in refused.json()["error"]
    assert api.get(path).json() == []
    forced = api.post(path, json={"tracking_number": "T-1", "override_reason": "sent from the shop shelf"})
    assert forced.status_code == 201, forced.text
    shipped = api.get(f"/api/v1/orders/{order['id']}").json()
    assert [line["status"] for line in shipped["lines"]] == ["shipped", "shipped"]
    assert shipped["status"] == "fulfilled"
    history = api.get(f"/api/v1/orders/{order['id']}/history").json()
    assert any("override: sent from the shop shelf" in event["reason"] for event in history)


def test_made_work_ships_and_its_lines_move_to_shipped(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any], factory: Any
) -> None:
    order = _take_in(api, deliver, process, order_create)
    make_everything(factory, order["id"])
    first, second = (line["id"] for line in order["lines"])
    path = f"/api/v1/orders/{order['id']}/shipments"
    parcel = {"tracking_number": "T-1", "lines": [{"line_id": first, "qty": 1}], "idempotency_key": "p1"}
    assert api.post(path, json=parcel).status_code == 201
    lines = api.get(f"/api/v1/orders/{order['id']}").json()["lines"]
    assert [line["status"] for line in lines] == ["shipped", "made"]
    assert api.post(path, json=parcel).status_code == 200  # the same parcel again
    other = api.post(path, json={**parcel, "lines": [{"line_id": second, "qty": 2}]})
    assert other.status_code == 409 and "lines:" in other.json()["error"]


def test_a_blank_tracking_number_is_refused_by_api_and_cli_alike(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    order = _take_in(api, deliver, process, order_create)
    response = api.post(f"/api/v1/orders/{order['id']}/shipments", json={"tracking_number": "  "})
    assert response.status_code == 422
    assert response.json()["problems"][0]["path"] == "tracking_number"
    with pytest.raises(Invalid) as refused:
        check_shipment("")
    assert [problem.path for problem in refused.value.problems] == ["tracking_number"]
