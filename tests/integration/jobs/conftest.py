"""Fixtures of the job-queue tests: PostgreSQL only (the queue lives there), with the keypad catalog
loaded, settings for a server whose job worker notices a dead worker within seconds, and helpers
that store signed deliveries and count what became of them."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine, func, select

from microfactory.catalog.load import read_catalog_file
from microfactory.catalog.service import load_catalog
from microfactory.channels.shopify.inbox import Delivery, store_deliveries
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.jobs.defer import INBOX, defer_on_connection
from tests.conftest import ADMIN_TOKEN
from tests.integration.channels.conftest import SECRET, signed_headers


@pytest.fixture
def queue_engine(postgres_url: str, examples: Path) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    with UnitOfWork.for_engine(engine) as uow:
        load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        uow.commit()
    yield engine
    engine.dispose()


@pytest.fixture
def queue_settings(postgres_url: str) -> Settings:
    return Settings(
        auto_route=False,
        database_url=postgres_url,
        admin_token=SecretStr(ADMIN_TOKEN),
        shopify_webhook_secret=SecretStr(SECRET),
        jobs_stalled_seconds=2,
    )


@pytest.fixture
def order_json(examples: Path) -> dict[str, Any]:
    return dict(json.loads((examples / "shopify" / "orders-create.json").read_text(encoding="utf-8")))


def store(engine: Engine, order: dict[str, Any], count: int, start: int = 0, defer: bool = True) -> None:
    """Store `count` signed deliveries of distinct orders, with their inbox job, in one transaction."""
    deliveries = []
    for n in range(start, start + count):
        payload = copy.deepcopy(order) | {"id": 700_000 + n, "name": f"#J{n}"}
        body = json.dumps(payload).encode()
        headers = {k.lower(): v for k, v in signed_headers(body, "orders/create").items()}
        deliveries.append(Delivery.read(headers, body))
    with engine.begin() as connection:
        store_deliveries(connection, deliveries)
        if defer:
            defer_on_connection(connection, INBOX)


def counts(engine: Engine) -> tuple[int, int, int]:
    """(orders, distinct external ids, deliveries not yet processed)."""
    with UnitOfWork.for_engine(engine) as uow:
        orders = int(uow.session.scalar(select(func.count()).select_from(OrderRow)) or 0)
        distinct = int(uow.session.scalar(select(func.count(func.distinct(OrderRow.external_id)))) or 0)
        waiting = int(
            uow.session.scalar(
                select(func.count())
                .select_from(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.status.not_in(("processed", "duplicate")))
            )
            or 0
        )
    return orders, distinct, waiting
