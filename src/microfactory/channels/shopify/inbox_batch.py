"""The inbox's fast path: a batch's brand-new orders created in one flush.

A flash drop is mostly `orders/create` deliveries of orders we have never seen. Through
`sync_order` each costs its own lock query, existence check and two savepoints (about a dozen
round trips to the database); here the batch's new orders go through `orders.service.intake_many`
instead: one query says which are stored already, one savepoint holds them all, and their rows are
inserted together at one flush. The result is the same as `sync_order` creating each order (the
same `_new_order`, the same actor), which stays the path for everything else: updates,
cancellations, an order named twice in the batch, and any delivery whose payload does not map.

If the one savepoint fails for any reason it is rolled back and every delivery falls back to the
per-delivery path, which marks just the bad one failed; an order another process created meanwhile
(`created` False) falls back too, and is then applied as an update of that order.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from microfactory.catalog.service import active_catalogs
from microfactory.channels.shopify.mapping import CHANNEL, PayloadError, ShopifyOrder, map_order
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import audit, service

log = logging.getLogger(__name__)

Candidate = tuple[WebhookDeliveryRow, dict[str, Any]]  # a delivery and its parsed body


def alone(rows: Sequence[WebhookDeliveryRow]) -> list[WebhookDeliveryRow]:
    """The rows whose order and event are named by no other row of the batch (order is kept)."""
    orders = Counter(row.order_external_id for row in rows)
    events = Counter(row.event_id for row in rows if row.event_id)
    return [
        row
        for row in rows
        if row.order_external_id is not None
        and orders[row.order_external_id] == 1
        and (not row.event_id or events[row.event_id] == 1)
    ]


def create_new_orders(uow: UnitOfWork, candidates: Sequence[Candidate]) -> set[int]:
    """Create the candidates' orders that are new and not cancelled; the ids of their deliveries.

    The caller has checked each candidate's topic and that its order appears once in the batch.
    """
    if not candidates:
        return set()
    catalogs = active_catalogs(uow)
    mapped: list[tuple[WebhookDeliveryRow, ShopifyOrder]] = []
    for row, payload in candidates:
        try:
            order = map_order(payload, catalogs)
        except PayloadError:
            continue  # the per-delivery path records why
        if order.cancelled_at is None:
            mapped.append((row, order))
    fresh = _not_stored(uow, mapped)
    if not fresh:
        return set()
    bookmark = audit.mark(uow)
    try:
        results = service.intake_many(uow, [order.new for _, order in fresh])
    except Exception:  # the savepoint is gone: every delivery takes the careful path instead
        audit.discard_since(uow, bookmark)
        log.warning("a batch of new shopify orders fell back to one at a time", exc_info=True)
        return set()
    return {row.id for (row, _), result in zip(fresh, results, strict=True) if result.created}


def _not_stored(
    uow: UnitOfWork, mapped: list[tuple[WebhookDeliveryRow, ShopifyOrder]]
) -> list[tuple[WebhookDeliveryRow, ShopifyOrder]]:
    """Drop the orders already stored (one query for the batch): they are updates, not creations."""
    wanted = [order.new.external_id for _, order in mapped]
    stored = set(
        uow.session.scalars(
            select(OrderRow.external_id).where(OrderRow.channel == CHANNEL, OrderRow.external_id.in_(wanted))
        )
    )
    return [(row, order) for row, order in mapped if order.new.external_id not in stored]
