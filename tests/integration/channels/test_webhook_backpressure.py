"""A burst far above what the database commits gets back-pressure, not a crash: deliveries beyond
the writer's queue are refused at once with 503 and Retry-After (Shopify sends them again), every
delivery answered 200 is stored, and the server keeps answering."""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from microfactory.api.app import create_app
from microfactory.channels.shopify.inbox_workers import InboxWriter
from microfactory.config import Settings
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.integration.channels.conftest import signed_headers
from tests.integration.live_server import live_server

BURST = 400


async def _burst(base: str, order: dict[str, Any]) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=BURST, max_keepalive_connections=BURST)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def send(n: int) -> httpx.Response:
            body = json.dumps(copy.deepcopy(order) | {"id": 800_000 + n, "name": f"#P{n}"}).encode()
            return await client.post(
                "/webhooks/shopify", content=body, headers=signed_headers(body, "orders/create")
            )

        return list(await asyncio.gather(*(send(n) for n in range(BURST))))


def test_a_burst_far_above_capacity_gets_503_with_retry_after_and_loses_nothing_accepted(
    shop_settings: Settings, channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    app = create_app(shop_settings, channel_engine)
    app.state.container.workers.shopify_inbox_writer = InboxWriter(
        channel_engine, max_batch=16, max_waiting=16
    )
    with live_server(app) as base:
        answers = asyncio.run(_burst(base, order_create))
        assert httpx.get(f"{base}/healthz").status_code == 200  # still answering
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {200, 503}, statuses
    refused = [answer for answer in answers if answer.status_code == 503]
    assert refused, "no back-pressure under a burst 25 times the writer's queue"
    assert all(answer.headers.get("Retry-After") == "1" for answer in refused)
    with UnitOfWork.for_engine(channel_engine) as uow:
        stored = uow.session.scalar(select(func.count()).select_from(WebhookDeliveryRow))
    assert stored == statuses.count(200)
