"""What the database holds, as Prometheus gauges read at scrape time (no counters to keep in sync).

Outbox messages by kind and status, orders, lines and work orders by state, Shopify webhook
deliveries by status: one grouped COUNT each, on the health engine's small pool, so a scrape never
waits behind the writers it is meant to watch. Any process can serve them: they are the database's
numbers, not this process's.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.tables.outbox import OutboxMessageRow

# metric name, help, the columns to group by (the last is always a status)
GAUGES: tuple[tuple[str, str, tuple[InstrumentedAttribute[str], ...]], ...] = (
    (
        "microfactory_outbox_messages",
        "outbox messages by kind and status",
        (OutboxMessageRow.kind, OutboxMessageRow.status),
    ),
    ("microfactory_orders", "orders by status", (OrderRow.status,)),
    ("microfactory_order_lines", "order lines by status", (OrderLineRow.status,)),
    ("microfactory_work_orders", "work orders by status", (WorkOrderRow.status,)),
    (
        "microfactory_shopify_inbox_deliveries",
        "stored Shopify webhook deliveries by status",
        (WebhookDeliveryRow.status,),
    ),
)


class DatabaseCollector(Collector):
    """Counts by state, read from the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with Session(self.engine) as session:
            for name, text, columns in GAUGES:
                labels = [column.key for column in columns]
                family = GaugeMetricFamily(name, text, labels=labels)
                rows = session.execute(select(*columns, func.count()).group_by(*columns))
                for *values, count in rows:
                    family.add_metric([str(value) for value in values], float(count))
                yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # no queries when the collector is registered
