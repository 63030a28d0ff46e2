"""Fixtures of the channel tests: a migrated database (SQLite, PostgreSQL) with the keypad catalog, the API with
its inbox worker off (tests process explicitly), signed deliveries, and the fake Shopify Admin API."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine

from microfactory.api.app import create_app
from microfactory.catalog.load import read_catalog_file
from microfactory.catalog.service import load_catalog
from microfactory.channels.shopify.admin import RetryPolicy, ShopifyAdmin
from microfactory.channels.shopify.inbox import ProcessReport, process_pending
from microfactory.channels.shopify.verify import sign
from microfactory.config import Settings
from microfactory.db.engine import make_engine, make_session_factory
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork
from tests.conftest import ADMIN_TOKEN
from tests.integration.channels.fake_shopify import TOKEN, FakeShop, build_app
from tests.integration.live_server import live_server

SECRET = "test-webhook-secret"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "shopify"
EXTRAS = {
    "catalog": "extras",
    "version": 1,
    "materials": {},
    "parts": {},
    "products": {
        "CABLE-USB": {
            "name": "USB-C cable (stocked)",
            "stocked": True,
            "options": {"len": {"type": "choice", "values": ["1m", "2m"], "default": "1m"}},
            "shopify": {"sku": "CBL-USB-{len}"},
        }
    },
}


@pytest.fixture
def channel_engine(database_url: str, examples: Path) -> Iterator[Engine]:
    """Every channel test runs on SQLite and on PostgreSQL (see tests/conftest.py)."""
    engine = make_engine(database_url)
    upgrade(engine)
    with UnitOfWork.for_engine(engine) as uow:
        load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        load_catalog(uow, EXTRAS)
        uow.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def shop_settings(database_url: str) -> Settings:
    return Settings(
        auto_route=False,
        database_url=database_url,
        admin_token=SecretStr(ADMIN_TOKEN),
        shopify_webhook_secret=SecretStr(SECRET),
        max_body_bytes=262_144,
        shopify_inbox_autoprocess=False,
    )


@pytest.fixture
def api(shop_settings: Settings, channel_engine: Engine) -> Iterator[TestClient]:
    app = create_app(shop_settings, channel_engine)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield client


@pytest.fixture
def order_create(examples: Path) -> dict[str, Any]:
    return dict(json.loads((examples / "shopify" / "orders-create.json").read_text(encoding="utf-8")))


def fixture(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text(encoding="utf-8")))


def signed_headers(
    body: bytes, topic: str, webhook_id: str | None = None, event_id: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(SECRET, body),
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Shop-Domain": "keystone-test.myshopify.com",
        "X-Shopify-Api-Version": "2025-07",
        "X-Shopify-Triggered-At": "2026-11-20T09:15:43.123456Z",
    }


Deliver = Callable[..., httpx.Response]


@pytest.fixture
def deliver(api: TestClient) -> Deliver:
    def send(
        payload: Any, topic: str = "orders/create", webhook_id: str | None = None, event_id: str | None = None
    ) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
        return api.post(
            "/webhooks/shopify", content=body, headers=signed_headers(body, topic, webhook_id, event_id)
        )

    return send


@pytest.fixture
def process(channel_engine: Engine) -> Callable[[], ProcessReport]:
    def run() -> ProcessReport:
        with UnitOfWork.for_engine(channel_engine) as uow:
            return process_pending(uow)

    return run


def updated(order: dict[str, Any], at: str, **changes: Any) -> dict[str, Any]:
    """A copy of the order as Shopify would send it after a change at `at`."""
    copied = copy.deepcopy(order)
    copied.update(changes, updated_at=at)
    return copied


@pytest.fixture
def fake_shop() -> Iterator[tuple[FakeShop, str]]:
    shop = FakeShop()
    with live_server(build_app(shop), lifespan="off") as url:
        yield shop, url


@pytest.fixture
def admin(fake_shop: tuple[FakeShop, str]) -> Iterator[ShopifyAdmin]:
    waits: list[float] = []
    client = ShopifyAdmin(
        fake_shop[1], TOKEN, "2025-07", sleep=waits.append, policy=RetryPolicy(attempts=4, base_delay=0.01)
    )
    client.sleeps = waits  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture
def factory(channel_engine: Engine) -> Any:
    return make_session_factory(channel_engine)


def make_everything(factory: Any, order_id: str) -> None:
    """Production is not built yet: move each work order of the order to made, as a site would."""
    from microfactory.orders import service, transitions
    from microfactory.orders.lifecycle import WorkOrderStatus

    path = [
        WorkOrderStatus.RELEASED,
        WorkOrderStatus.ASSIGNED,
        WorkOrderStatus.IN_PROGRESS,
        WorkOrderStatus.MADE,
    ]
    with UnitOfWork(factory) as uow:
        for line in service.get_order(uow, order_id).lines:
            work_order = line.work_order
            if work_order is None or work_order.status not in path:
                continue
            for step in path[path.index(WorkOrderStatus(work_order.status)) + 1 :]:
                transitions.move_work(uow, work_order, step, reason="made for the test", actor="test")
        uow.commit()
