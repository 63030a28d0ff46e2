"""What the database holds, as Prometheus gauges read at scrape time (no counters to keep in sync).

Outbox messages by kind and status, orders, lines and work orders by state, Shopify webhook
deliveries by status: one grouped COUNT each, on the health engine's small pool, so a scrape never
waits behind the writers it is meant to watch. Any process can serve them: they are the database's
numbers, not this process's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.tables.outbox import OutboxMessageRow
from microfactory.orders.lifecycle import LineStatus, OrderStatus, WorkOrderStatus

Column = InstrumentedAttribute[str]


@dataclass(frozen=True)
class Gauge:
    """A gauge of rows grouped by `columns`; a state in `known` shows as 0 when no row has it, so a
    series drops to zero instead of vanishing (an alert on it then clears)."""

    name: str
    help: str
    columns: tuple[Column, ...]
    known: tuple[str, ...] = ()


GAUGES = (
    Gauge(
        "microfactory_outbox_messages",
        "outbox messages by kind and status",
        (OutboxMessageRow.kind, OutboxMessageRow.status),
    ),
    Gauge("microfactory_orders", "orders by status", (OrderRow.status,), tuple(OrderStatus)),
    Gauge("microfactory_order_lines", "order lines by status", (OrderLineRow.status,), tuple(LineStatus)),
    Gauge(
        "microfactory_work_orders", "work orders by status", (WorkOrderRow.status,), tuple(WorkOrderStatus)
    ),
    Gauge(
        "microfactory_shopify_inbox_deliveries",
        "stored Shopify webhook deliveries by status",
        (WebhookDeliveryRow.status,),
        ("received", "processing", "processed", "duplicate", "failed"),
    ),
)


class DatabaseCollector(Collector):
    """Counts by state, read from the database at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with Session(self.engine) as session:
            for gauge in GAUGES:
                yield _family(session, gauge)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        return iter(())  # no queries when the collector is registered


def _family(session: Session, gauge: Gauge) -> GaugeMetricFamily:
    family = GaugeMetricFamily(gauge.name, gauge.help, labels=[column.key for column in gauge.columns])
    counts = {
        tuple(str(value) for value in values): float(count)
        for *values, count in session.execute(select(*gauge.columns, func.count()).group_by(*gauge.columns))
    }
    for state in gauge.known:
        counts.setdefault((str(state),), 0.0)
    for labels, count in sorted(counts.items()):
        family.add_metric(list(labels), count)
    return family
