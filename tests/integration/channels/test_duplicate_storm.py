"""The same order delivered 50 times at once under 10 webhook ids, to a real server with its worker."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.integration.channels.conftest import signed_headers
from tests.integration.live_server import live_server


def _counts(engine: Engine) -> tuple[int, int, int]:
    with UnitOfWork.for_engine(engine) as uow:
        orders = uow.session.scalar(select(func.count()).select_from(OrderRow)) or 0
        rows = uow.session.scalar(select(func.count()).select_from(WebhookDeliveryRow)) or 0
        pending = (
            uow.session.scalar(
                select(func.count())
                .select_from(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.status.in_(["received", "processing"]))
            )
            or 0
        )
    return int(orders), int(rows), int(pending)


def test_duplicate_storm_leaves_one_order(
    shop_settings: Settings, channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    app = create_app(shop_settings.with_changes(shopify_inbox_autoprocess=True), channel_engine)
    body = json.dumps(order_create).encode()
    deliveries = [signed_headers(body, "orders/create", f"wh-{n % 10}", f"ev-{n % 3}") for n in range(50)]
    workers = app.state.container.workers  # SQLite: the inbox thread; PostgreSQL: the job worker
    workers.start()  # a server without lifespan runs no workers
    with live_server(app, lifespan="off") as url, httpx.Client(base_url=url, timeout=10) as client:

        def send(headers: dict[str, str]) -> int:
            return client.post("/webhooks/shopify", content=body, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=25) as pool:
            statuses = list(pool.map(send, deliveries))
        assert statuses == [200] * 50
        deadline = time.monotonic() + 15
        while _counts(channel_engine)[2] and time.monotonic() < deadline:
            time.sleep(0.05)
        workers.stop()
    orders, rows, pending = _counts(channel_engine)
    assert (orders, rows, pending) == (1, 10, 0)
