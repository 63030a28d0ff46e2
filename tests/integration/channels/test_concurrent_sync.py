"""Two `orders/updated` deliveries of one order processed at once, each by its own engine.

The newer one adds a line; both carry it. Whatever order they run in, and whether the order exists
yet or the two race to create it, the order must end with that line once, one work order per made
line, and Shopify's newest `updated_at`.
"""

from __future__ import annotations

import copy
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import selectinload

from microfactory.channels.shopify.order_sync import sync_order
from microfactory.db.engine import make_engine
from microfactory.db.tables.orders import OrderLineRow, OrderRow
from microfactory.db.unit_of_work import UnitOfWork

ORDERS = 40
OLDER, NEWER = "2026-11-20T11:00:00+01:00", "2026-11-20T11:05:00+01:00"


def _payloads(template: dict[str, Any], n: int) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The order as created, an update adding a line, and a newer update with that line too."""
    created = copy.deepcopy(template)
    created["id"] = 9_000_000 + n
    for position, item in enumerate(created["line_items"]):
        item["id"] = 100_000 * n + position
    added = copy.deepcopy(created["line_items"][0])
    added["id"] = 100_000 * n + 99
    added["properties"] = [{"name": "Engraving", "value": f"Added {n}"}]
    older = copy.deepcopy(created) | {"updated_at": OLDER}
    older["line_items"].append(added)
    newer = copy.deepcopy(older) | {"updated_at": NEWER, "note": "newest"}
    return created, older, newer


def _deliver_at_once(url: str, batches: list[list[dict[str, Any]]]) -> None:
    """Each batch in its own thread with its own engine; the n-th payloads start together."""
    barrier = threading.Barrier(len(batches))

    def run(batch: list[dict[str, Any]]) -> None:
        engine = make_engine(url)
        try:  # a failing thread breaks the barrier, so the other one fails too instead of waiting
            for payload in batch:
                barrier.wait(timeout=60)
                with UnitOfWork.for_engine(engine) as uow:
                    sync_order(uow, payload)
                    uow.commit()
        except BaseException:
            barrier.abort()
            raise
        finally:
            engine.dispose()

    with ThreadPoolExecutor(max_workers=len(batches)) as pool:
        list(pool.map(run, batches))


def _working(line: OrderLineRow) -> bool:
    return line.work_order is not None and line.work_order.status != "cancelled"


def test_two_updates_at_once_add_the_line_once_and_keep_the_newest(
    database_url: str, channel_engine: Engine, order_create: dict[str, Any]
) -> None:
    older: list[dict[str, Any]] = []
    newer: list[dict[str, Any]] = []
    with UnitOfWork.for_engine(channel_engine) as uow:
        for n in range(ORDERS):
            created, old, new = _payloads(order_create, n)
            if n % 2 == 0:  # half exist already; for the other half the two updates race to create
                sync_order(uow, created)
            older.append(old)
            newer.append(new)
        uow.commit()
    _deliver_at_once(database_url, [older, newer])
    with UnitOfWork.for_engine(channel_engine) as uow:
        orders = list(
            uow.session.scalars(
                select(OrderRow).options(selectinload(OrderRow.lines).selectinload(OrderLineRow.work_order))
            )
        )
        assert len(orders) == ORDERS
        newest = datetime.fromisoformat(NEWER)
        for order in orders:
            live = [line for line in order.lines if line.status != "cancelled"]
            assert Counter(line.external_id for line in live) == Counter(
                {str(item["id"]): 1 for item in newer[int(order.external_id) - 9_000_000]["line_items"]}
            ), order.external_id
            made = [line for line in live if line.kind == "manufacture"]
            assert made and all(line.work_order is not None for line in made)
            working = [line.external_id for line in order.lines if _working(line)]
            assert Counter(working) == Counter(line.external_id for line in made)  # one work order each
            assert order.source_updated_at is not None
            assert order.source_updated_at == newest, order.external_id
