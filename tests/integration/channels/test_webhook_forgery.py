"""Shopify signs the body, not the headers: what a delivery does is decided from its body, and a
delivery from another shop is refused (issue 11.3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.conftest import ADMIN_TOKEN
from tests.integration.channels.conftest import Deliver, signed_headers


def _order(api: TestClient, external_id: object) -> dict[str, Any]:
    found = api.get("/api/v1/orders", params={"channel": "shopify", "external_id": str(external_id)}).json()
    assert len(found) == 1, found
    return dict(found[0])


def test_a_replayed_create_body_with_the_cancelled_topic_cancels_nothing(
    api: TestClient, deliver: Deliver, process: Any, order_create: dict[str, Any]
) -> None:
    assert order_create.get("cancelled_at") is None
    deliver(order_create)
    process()
    replayed = deliver(order_create, topic="orders/cancelled")  # same signed body, new webhook id
    assert replayed.status_code == 200
    process()
    order = _order(api, order_create["id"])
    assert order["status"] == "accepted"
    assert {line["status"] for line in order["lines"]} != {"cancelled"}


@pytest.fixture
def one_shop_api(shop_settings: Settings, channel_engine: Engine) -> Iterator[TestClient]:
    settings = shop_settings.with_changes(shopify_shop_domain="keystone-test.myshopify.com")
    with TestClient(create_app(settings, channel_engine)) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client


def test_a_delivery_from_another_shop_is_refused_and_not_stored(
    one_shop_api: TestClient, channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    body = json.dumps(order_create).encode()
    ours = one_shop_api.post("/webhooks/shopify", content=body, headers=signed_headers(body, "orders/create"))
    assert ours.status_code == 200
    headers = signed_headers(body, "orders/create") | {"X-Shopify-Shop-Domain": "other-shop.myshopify.com"}
    theirs = one_shop_api.post("/webhooks/shopify", content=body, headers=headers)
    assert theirs.status_code == 403
    assert "other-shop.myshopify.com" in theirs.json()["error"]
    with UnitOfWork.for_engine(channel_engine) as uow:
        assert uow.session.scalar(select(func.count()).select_from(WebhookDeliveryRow)) == 1
