"""Acknowledged means durable (issue 11.9): every SQLite connection commits with synchronous=FULL,
so a webhook or an order answered 200/201 survives a power cut, not only a process crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

from microfactory.channels.shopify.inbox import Delivery
from microfactory.channels.shopify.inbox_workers import InboxWriter
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade

FULL = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA


def test_every_connection_and_the_inbox_writer_commit_with_full_sync(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'durable.db'}")
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == FULL
    writer = InboxWriter(engine)
    delivery = Delivery.read(
        {"x-shopify-webhook-id": "w-1", "x-shopify-topic": "orders/create"}, b'{"id": 1}'
    )

    async def store() -> None:
        await writer.store(delivery)

    asyncio.run(store())
    own = writer._own  # the loop's own connection, which writes most batches
    assert own is not None
    assert own.exec_driver_sql("PRAGMA synchronous").scalar() == FULL
    writer.close()
    engine.dispose()
