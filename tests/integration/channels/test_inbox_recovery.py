"""The inbox recovers by itself (issue 11.6): the worker starts with the server, a claim left by a
killed process is taken up within a short lease, a backlog larger than one batch is worked off
without pausing, and stopping does not wait for the backlog."""

from __future__ import annotations

import copy
import json
import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, update

from microfactory.api.app import create_app
from microfactory.channels.shopify.inbox import PROCESSED, PROCESSING, Delivery, store_deliveries
from microfactory.channels.shopify.inbox_workers import InboxWorker
from microfactory.config import Settings
from microfactory.db.base import utcnow
from microfactory.db.engine import make_session_factory
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.integration.channels.conftest import signed_headers


def _store(engine: Engine, order: dict[str, Any], count: int, start: int = 0) -> None:
    deliveries = []
    for n in range(start, start + count):
        payload = copy.deepcopy(order) | {"id": 900_000 + n, "name": f"#R{n}"}
        body = json.dumps(payload).encode()
        headers = {k.lower(): v for k, v in signed_headers(body, "orders/create").items()}
        deliveries.append(Delivery.read(headers, body))
    with engine.begin() as connection:
        store_deliveries(connection, deliveries)


def _waiting(engine: Engine) -> int:
    with UnitOfWork.for_engine(engine) as uow:
        query = (
            select(func.count()).select_from(WebhookDeliveryRow).where(WebhookDeliveryRow.status != PROCESSED)
        )
        return int(uow.session.scalar(query) or 0)


def _wait_until_drained(engine: Engine, seconds: float) -> float:
    started = time.monotonic()
    while _waiting(engine) and time.monotonic() - started < seconds:
        time.sleep(0.1)
    return time.monotonic() - started


def test_deliveries_stored_before_a_restart_are_processed_at_start_up(
    shop_settings: Settings, channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    _store(channel_engine, order_create, 3)
    settings = shop_settings.with_changes(shopify_inbox_autoprocess=True)
    with TestClient(create_app(settings, channel_engine)):
        _wait_until_drained(channel_engine, 15)
    assert _waiting(channel_engine) == 0


def test_a_claim_left_by_a_killed_process_is_taken_up_soon(
    channel_engine: Engine, order_create: dict[str, Any], process: Any
) -> None:
    _store(channel_engine, order_create, 1)
    with UnitOfWork.for_engine(channel_engine) as uow:  # a process claimed it a minute ago, then died
        claimed = utcnow() - timedelta(minutes=1)
        uow.session.execute(update(WebhookDeliveryRow).values(status=PROCESSING, claimed_at=claimed))
        uow.commit()
    assert process().processed == 1


def test_a_backlog_larger_than_a_batch_is_worked_off_without_pausing(
    channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    _store(channel_engine, order_create, 12)
    worker = InboxWorker(make_session_factory(channel_engine), interval=30.0, batch=4)
    worker.start()
    try:
        took = _wait_until_drained(channel_engine, 25)
    finally:
        worker.stop()
    assert _waiting(channel_engine) == 0, f"{_waiting(channel_engine)} still waiting after {took:.1f} s"


def test_stopping_does_not_wait_for_the_backlog(channel_engine: Engine, order_create: dict[str, Any]) -> None:
    _store(channel_engine, order_create, 120)
    worker = InboxWorker(make_session_factory(channel_engine), interval=30.0)
    worker.start()
    while _waiting(channel_engine) > 115:
        time.sleep(0.02)
    started = time.monotonic()
    worker.stop(timeout=30)
    took = time.monotonic() - started
    assert took < 2.0, f"stopping took {took:.1f} s"
    assert _waiting(channel_engine) > 0  # the rest waits for the next start
