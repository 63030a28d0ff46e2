"""All tables, one module per capability; importing this package registers them on `Base.metadata`."""

from microfactory.db.tables import (
    catalog,
    channels,
    logistics,
    network,
    orders,
    outbox,
    production,
    quality,
    telemetry,
    web,
)

__all__ = [
    "catalog",
    "channels",
    "logistics",
    "network",
    "orders",
    "outbox",
    "production",
    "quality",
    "telemetry",
    "web",
]
