"""The audit trail names the actor of every API write: the token's name (issue 16.4)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.integration.operations.conftest import Issue

SHIP_TO = {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4}


def test_api_writes_are_audited_under_the_tokens_name(client: TestClient, issue: Issue) -> None:
    erp, _ = issue("erp-bridge", "integration")
    planner, _ = issue("night-planner", "planner")
    order = {"channel": "erp", "external_id": "A-1", "ship_to": SHIP_TO, "lines": [{"product": "nothing"}]}
    created = erp.post("/api/v1/orders", json=order)
    assert created.status_code == 201, created.text
    order_id = created.json()["id"]
    assert planner.post(f"/api/v1/orders/{order_id}/cancel", json={"reason": "duplicate"}).status_code == 200
    csv = "order_id,product,qty,ship_to_city,ship_to_country\nA-2,nothing,1,Berlin,DE\n"
    imported = erp.post("/api/v1/orders/import", content=csv, headers={"Content-Type": "text/csv"})
    assert imported.status_code == 200, imported.text
    history = client.get(f"/api/v1/orders/{order_id}/history").json()
    actors = [event["actor"] for event in history]
    assert actors[0] == "erp-bridge" and actors[-1] == "night-planner", history
    assert set(actors) == {"erp-bridge", "night-planner"}
    second = imported.json()["orders"][0]["id"]
    assert {e["actor"] for e in client.get(f"/api/v1/orders/{second}/history").json()} == {"erp-bridge"}
