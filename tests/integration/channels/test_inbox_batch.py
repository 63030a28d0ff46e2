"""One inbox batch of every kind of delivery: the new orders are created together (the fast path),
and the rest (an update of an order in the same batch, a cancelled new order, an update of an order
stored before, a repeated event, a body that maps to nothing) comes out as one at a time would."""

from __future__ import annotations

import copy
import json
from typing import Any

from sqlalchemy import Engine, select

from microfactory.channels.shopify.inbox import Delivery, process_pending, store_deliveries
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.integration.channels.conftest import signed_headers


def _delivery(payload: dict[str, Any], topic: str = "orders/create", event: str | None = None) -> Delivery:
    body = json.dumps(payload).encode()
    headers = {k.lower(): v for k, v in signed_headers(body, topic, event_id=event).items()}
    return Delivery.read(headers, body)


def _store(engine: Engine, deliveries: list[Delivery]) -> None:
    with engine.begin() as connection:
        store_deliveries(connection, deliveries)


def _order(base: dict[str, Any], number: int, **changes: Any) -> dict[str, Any]:
    return copy.deepcopy(base) | {"id": 510_000 + number, "name": f"#M{number}"} | changes


def test_a_mixed_batch_ends_as_if_worked_one_at_a_time(
    channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    _store(channel_engine, [_delivery(_order(order_create, 0))])
    with UnitOfWork.for_engine(channel_engine) as uow:
        process_pending(uow)
    later = "2030-01-01T00:00:00Z"
    deliveries = [
        *(_delivery(_order(order_create, n)) for n in range(1, 6)),  # new: created together
        _delivery(_order(order_create, 6)),
        _delivery(_order(order_create, 6, updated_at=later, email="late@example.com"), "orders/updated"),
        _delivery(_order(order_create, 7, cancelled_at=later, updated_at=later), "orders/cancelled"),
        _delivery(_order(order_create, 0, updated_at=later, email="moved@example.com"), "orders/updated"),
        _delivery(_order(order_create, 8), event="same-event"),
        _delivery(_order(order_create, 8), event="same-event"),
        _delivery({"id": 510_009, "line_items": "not a list"}),
    ]
    _store(channel_engine, deliveries)
    with UnitOfWork.for_engine(channel_engine) as uow:
        report = process_pending(uow)
    assert report.processed == 10 and report.duplicates == 1 and report.failed == 1
    assert report.actions == {"order created": 8, "order updated": 2}
    with UnitOfWork.for_engine(channel_engine) as uow:
        orders = {row.external_id: row for row in uow.session.scalars(select(OrderRow))}
        statuses = sorted(uow.session.scalars(select(WebhookDeliveryRow.status)))
        assert set(orders) == {str(510_000 + n) for n in range(9)}
        assert orders["510006"].email == "late@example.com"
        assert orders["510000"].email == "moved@example.com"
        assert orders["510007"].status == "cancelled"
        assert all(len(order.lines) == 2 for order in orders.values())
        assert statuses.count("processed") == 11 and statuses.count("duplicate") == 1
        assert statuses.count("failed") == 1
