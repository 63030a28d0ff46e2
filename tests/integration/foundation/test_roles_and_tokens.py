"""Roles and tokens (spec "Roles and tokens", issue 11.5 and 10): identity is the token id, the role
decides; tokens are listed without secrets, revoked at once, and their names are unique."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from microfactory.db.tables.orders import ApiTokenRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service as order_service
from microfactory.orders.model import Address, NewOrder, NewOrderLine

SHIP_TO = {"city": "Berlin", "country": "DE", "latitude": 52.52, "longitude": 13.4}


def _issue(admin: TestClient, name: str, role: str, site: str | None = None) -> TestClient:
    body: dict[str, Any] = {"name": name, "role": role} | ({"site": site} if site else {})
    answer = admin.post("/api/v1/tokens", json=body)
    assert answer.status_code == 201, answer.text
    issued = answer.json()
    assert set(issued) >= {"id", "name", "role", "token"} and issued["role"] == role
    return TestClient(admin.app, headers={"Authorization": f"Bearer {issued['token']}"})


@pytest.fixture
def admin(client: TestClient, examples: Path) -> TestClient:
    catalog = yaml.safe_load((examples / "catalog-keypad.yaml").read_text())
    assert client.post("/api/v1/catalogs", json=catalog).status_code == 201
    network = yaml.safe_load((examples / "network.yaml").read_text())
    assert client.post("/api/v1/network", json=network).status_code == 201
    return client


def test_a_token_named_admin_is_not_an_admin(admin: TestClient, examples: Path) -> None:
    impostor = _issue(admin, "admin", "planner")
    assert impostor.post("/api/v1/tokens", json={"name": "x", "role": "admin"}).status_code == 403
    assert impostor.get("/api/v1/tokens").status_code == 403
    catalog = yaml.safe_load((examples / "catalog-keypad.yaml").read_text())
    assert impostor.post("/api/v1/catalogs", json=catalog).status_code == 403
    network = yaml.safe_load((examples / "network.yaml").read_text())
    assert impostor.post("/api/v1/network", json=network).status_code == 403
    assert impostor.get("/api/v1/orders").status_code == 200  # a planner still plans
    second_admin = _issue(admin, "ops-lead", "admin")
    assert second_admin.post("/api/v1/tokens", json={"name": "y", "role": "inspector"}).status_code == 201


def _shopify_order(engine: Engine, external_id: str) -> str:
    """An order of the shopify channel, as the webhook path stores it (no API client may)."""
    line = NewOrderLine(qty=1, product="KP")
    new = NewOrder("shopify", external_id, (line,), ship_to=Address.from_dict(SHIP_TO))
    with UnitOfWork.for_engine(engine) as uow:
        order_id = order_service.intake(uow, new).order.id
        uow.commit()
    return order_id


def test_an_integration_token_handles_orders_of_other_channels_only(
    admin: TestClient, engine: Engine
) -> None:
    erp = _issue(admin, "erp-bridge", "integration")
    ours = {"channel": "erp", "external_id": "E-1", "ship_to": SHIP_TO, "lines": [{"product": "KP"}]}
    created = erp.post("/api/v1/orders", json=ours)
    assert created.status_code == 201, created.text
    forged = {**ours, "channel": "shopify", "external_id": "1001"}
    assert erp.post("/api/v1/orders", json=forged).status_code == 403
    shopify_order = _shopify_order(engine, "1001")
    assert erp.get(f"/api/v1/orders/{shopify_order}").status_code == 403
    assert erp.get("/api/v1/orders", params={"channel": "shopify"}).status_code == 403
    assert {o["channel"] for o in erp.get("/api/v1/orders").json()} == {"erp"}
    assert erp.get(f"/api/v1/orders/{created.json()['id']}").status_code == 200
    assert erp.post(f"/api/v1/orders/{created.json()['id']}/cancel", json={"reason": "x"}).status_code == 403
    assert erp.get("/api/v1/network/sites").status_code == 403


def test_a_site_token_sees_and_changes_its_own_site_only(admin: TestClient) -> None:
    body = {"external_id": "S-1", "ship_to": SHIP_TO, "lines": [{"product": "KP", "options": {"keys": 4}}]}
    work_order = admin.post("/api/v1/orders", json=body).json()["lines"][0]["work_order_id"]
    routed = admin.post(f"/api/v1/work-orders/{work_order}/route").json()
    assert routed["site"] == "berlin"
    assignment = routed["assignments"][0]["id"]
    lyon = _issue(admin, "lyon-agent", "site", "lyon")
    berlin = _issue(admin, "berlin-agent", "site", "berlin")
    assert lyon.get("/api/v1/network/sites/berlin").status_code == 403
    assert lyon.get(f"/api/v1/work-orders/{work_order}").status_code == 403
    assert lyon.get("/api/v1/work-orders", params={"site": "berlin"}).status_code == 403
    assert lyon.get("/api/v1/work-orders").json() == []
    assert lyon.post(f"/api/v1/assignments/{assignment}/accept").status_code == 403
    event = {"kind": "machine_down", "site": "berlin", "machine": "berlin-fdm-1"}
    assert lyon.post("/api/v1/network/events", json=event).status_code == 403
    assert lyon.get("/api/v1/orders").status_code == 403
    assert lyon.get("/api/v1/network/sites/lyon").status_code == 200
    assert berlin.get(f"/api/v1/work-orders/{work_order}").status_code == 200
    assert [w["id"] for w in berlin.get("/api/v1/work-orders").json()] == [work_order]
    assert berlin.post(f"/api/v1/assignments/{assignment}/accept").status_code == 200


def test_a_site_token_needs_its_site_and_roles_are_checked(admin: TestClient) -> None:
    assert admin.post("/api/v1/tokens", json={"name": "s", "role": "site"}).status_code == 422
    assert admin.post("/api/v1/tokens", json={"name": "s", "role": "root"}).status_code == 422


def test_tokens_are_listed_without_secrets_revoked_and_unique_by_name(
    admin: TestClient, engine: Engine
) -> None:
    answer = admin.post("/api/v1/tokens", json={"name": "dash", "role": "inspector"}).json()
    secret = answer["token"]
    assert admin.post("/api/v1/tokens", json={"name": "dash", "role": "planner"}).status_code == 409
    listed = admin.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["dash"] and "token" not in listed[0]
    assert secret not in admin.get("/api/v1/tokens").text
    with UnitOfWork.for_engine(engine) as uow:
        stored = uow.session.scalars(select(ApiTokenRow)).all()
        assert secret not in {row.token_sha256 for row in stored}
    dash = TestClient(admin.app, headers={"Authorization": f"Bearer {secret}"})
    assert dash.get("/api/v1/orders").status_code == 200
    assert (
        dash.post("/api/v1/orders", json={"external_id": "I-1", "lines": [{"product": "KP"}]}).status_code
        == 403
    )
    assert admin.delete(f"/api/v1/tokens/{answer['id']}").status_code == 200
    assert dash.get("/api/v1/orders").status_code == 401
    assert admin.get("/api/v1/tokens").json() == []
    assert admin.delete("/api/v1/tokens/tok_nope").status_code == 404
    again = admin.post("/api/v1/tokens", json={"name": "dash", "role": "planner"})
    assert again.status_code == 201  # a revoked token's name may be issued again


def test_tracking_urls_must_be_https(admin: TestClient, engine: Engine) -> None:
    order_id = _shopify_order(engine, "77")
    for url in ("javascript:alert(1)", "http://track.example/1", "data:text/html,x", "https://"):
        refused = admin.post(
            f"/api/v1/orders/{order_id}/shipments", json={"tracking_number": "T1", "url": url}
        )
        assert refused.status_code == 422, (url, refused.text)
        assert refused.json()["problems"][0]["path"] == "url"
    good = {
        "tracking_number": "T1",
        "url": "https://track.example/T1",
        "override_reason": "not made: URL test",
    }
    assert admin.post(f"/api/v1/orders/{order_id}/shipments", json=good).status_code == 201
