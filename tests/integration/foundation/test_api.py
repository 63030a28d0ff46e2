"""The REST API: auth, orders, corrections, errors users can read."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def order_body(external_id: str, **line: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "ship_to": {
            "name": "Jonas Weber",
            "city": "Berlin",
            "country": "DE",
            "latitude": 52.5,
            "longitude": 13.4,
        },
        "lines": [{"product": "KP", "qty": 1, **line}],
    }


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/orders" in spec["paths"]


def test_auth_is_required(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    response = anonymous.get("/api/v1/orders")
    assert response.status_code == 401
    assert "bearer token" in response.json()["error"]
    wrong = anonymous.get("/api/v1/orders", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401


def test_create_read_and_find_by_external_id(api: TestClient) -> None:
    created = api.post("/api/v1/orders", json=order_body("E-1", options={"keys": 12, "color": "white"}))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "accepted"
    line = body["lines"][0]
    assert set(line) >= {"id", "product", "qty", "options", "status", "problems", "work_order_id", "site"}
    assert line["options"] == {"keys": 12, "color": "white", "engraving": "", "firmware": "standard"}
    again = api.post("/api/v1/orders", json=order_body("E-1", options={"keys": 12, "color": "white"}))
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    found = api.get("/api/v1/orders", params={"channel": "api", "external_id": "E-1"}).json()
    assert [o["id"] for o in found] == [body["id"]]
    assert (
        api.get(f"/api/v1/orders/{body['id']}").json()["lines"][0]["work_order_id"] == line["work_order_id"]
    )
    work_order = api.get(f"/api/v1/work-orders/{line['work_order_id']}").json()
    assert work_order["configuration_key"] == line["configuration_key"]
    assert any(op["id"] == "KP:assemble" for op in work_order["operations"])


def test_invalid_options_wait_in_needs_attention_and_can_be_corrected(api: TestClient) -> None:
    created = api.post("/api/v1/orders", json=order_body("E-2", options={"color": "purple"})).json()
    assert created["status"] == "needs_attention"
    line = created["lines"][0]
    assert line["problems"] == [
        {"path": "options.color", "message": "'purple' is not one of black, red, teal, white"}
    ]
    listed = api.get("/api/v1/needs-attention").json()
    assert [item["id"] for item in listed] == [line["id"]]
    fixed = api.patch(
        f"/api/v1/orders/{created['id']}/lines/{line['id']}", json={"options": {"color": "teal"}}
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["status"] == "released"
    again = api.patch(
        f"/api/v1/orders/{created['id']}/lines/{line['id']}", json={"options": {"color": "red"}}
    )
    assert again.status_code == 409
    history = api.get(f"/api/v1/orders/{created['id']}/history").json()
    assert [event["to"] for event in history if event["entity"] == "order"] == ["needs_attention", "accepted"]


def test_bad_input_gets_a_clear_error(api: TestClient) -> None:
    malformed = api.post(
        "/api/v1/orders",
        content=b'{"external_id": "x", "lines": [',
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"] == "the request body is not valid JSON"
    wrong_type = api.post(
        "/api/v1/orders", json={"external_id": "x", "lines": [{"product": "KP", "qty": "many"}]}
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["problems"][0]["path"] == "lines.0.qty"
    huge = api.post("/api/v1/orders", content=b"x" * 2_000_000, headers={"Content-Type": "application/json"})
    assert huge.status_code == 413
    assert "larger than the limit" in huge.json()["error"]
    unknown = api.get("/api/v1/orders/ord_missing")
    assert unknown.status_code == 404
    assert "ord_missing" in unknown.json()["error"]
    assert api.get("/api/v1/orders").json() == []


def test_unknown_product_is_kept_not_dropped(api: TestClient) -> None:
    body = order_body("E-3")
    body["lines"][0]["product"] = "KP-DELUXE"
    created = api.post("/api/v1/orders", json=body).json()
    assert created["lines"][0]["status"] == "needs_attention"
    assert "unknown product 'KP-DELUXE'" in created["lines"][0]["problems"][0]["message"]


def test_cancel_through_the_api(api: TestClient) -> None:
    created = api.post("/api/v1/orders", json=order_body("E-4")).json()
    cancelled = api.post(f"/api/v1/orders/{created['id']}/cancel", json={"reason": "duplicate"}).json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["lines"][0]["status"] == "cancelled"


def test_invalid_catalog_is_refused_with_places(client: TestClient) -> None:
    response = client.post("/api/v1/catalogs", json={"catalog": "x", "version": 1, "products": {"P": {}}})
    assert response.status_code == 422
    assert {"path": "products.P", "message": "a product needs a bom or a routing (or stocked: true)"} in (
        response.json()["problems"]
    )


def test_concurrent_duplicates_leave_one_order(api: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    body = order_body("E-5", options={"keys": 4})
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda _: api.post("/api/v1/orders", json=body), range(24)))
    assert sorted({r.status_code for r in responses}) in ([200, 201], [201])
    assert [r.status_code for r in responses].count(201) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    assert len(api.get("/api/v1/orders", params={"channel": "api"}).json()) == 1


def test_issued_tokens_authenticate_but_cannot_issue_more(client: TestClient) -> None:
    issued = client.post("/api/v1/tokens", json={"name": "erp-bridge"})
    assert issued.status_code == 201
    token = issued.json()["token"]
    integration = TestClient(client.app, headers={"Authorization": f"Bearer {token}"})
    assert integration.get("/api/v1/orders").status_code == 200
    assert integration.post("/api/v1/tokens", json={"name": "more"}).status_code == 403
    assert client.post("/api/v1/tokens", json={"name": "bad name!"}).status_code == 422


def test_work_orders_are_listed_by_status(api: TestClient) -> None:
    api.post("/api/v1/orders", json=order_body("E-6", options={"keys": 8}))
    listed = api.get("/api/v1/work-orders", params={"status": "released"}).json()
    assert len(listed) == 1
    assert listed[0]["product"] == "KP"
    assert api.get("/api/v1/work-orders", params={"status": "made"}).json() == []
