"""All tables, one module per capability; importing this package registers them on `Base.metadata`."""

from microfactory.db.tables import catalog, channels, network, orders, outbox, production, quality, telemetry

__all__ = ["catalog", "channels", "network", "orders", "outbox", "production", "quality", "telemetry"]
