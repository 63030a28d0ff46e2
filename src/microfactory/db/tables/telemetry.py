"""Machine telemetry: raw readings, their downsampled rollups, and alerts raised on machines.

Readings are many and small: an integer key, no foreign keys (a machine may report before the
network that names it is loaded, and an operation id may name work another capability stores) and
one index, for the API's question "this metric of this machine since then". Older readings are
rolled up into one row per (machine, metric, minute) by `production.telemetry.store.downsample`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from microfactory.db.base import Base, utcnow

# SQLite makes only an INTEGER PRIMARY KEY its rowid (fast, auto-incremented); PostgreSQL gets 64 bits.
ReadingKey = BigInteger().with_variant(Integer(), "sqlite")


class TelemetryReadingRow(Base):
    __tablename__ = "telemetry_readings"
    __table_args__ = (Index("ix_telemetry_readings_machine_metric_ts", "machine", "metric", "ts"),)

    id: Mapped[int] = mapped_column(ReadingKey, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(80))
    machine: Mapped[str] = mapped_column(String(80))
    metric: Mapped[str] = mapped_column(String(80))
    ts: Mapped[datetime]
    value: Mapped[float] = mapped_column(Float)
    operation_id: Mapped[str | None] = mapped_column(String(80))


class TelemetryRollupRow(Base):
    """min / mean / max of `count` readings of one metric in the bucket starting at `bucket`."""

    __tablename__ = "telemetry_rollups"
    __table_args__ = (UniqueConstraint("machine", "metric", "bucket", name="uq_telemetry_rollups_key"),)

    id: Mapped[int] = mapped_column(ReadingKey, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(String(80))
    machine: Mapped[str] = mapped_column(String(80))
    metric: Mapped[str] = mapped_column(String(80))
    bucket: Mapped[datetime]
    count: Mapped[int]
    low: Mapped[float] = mapped_column(Float)
    mean: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)


class AlertRow(Base):
    """kind limit | silent; open while `closed_at` is None (acknowledged, or the machine spoke again)."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_closed_at_machine", "closed_at", "machine"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    site: Mapped[str] = mapped_column(String(80))
    machine: Mapped[str] = mapped_column(String(80))
    metric: Mapped[str | None] = mapped_column(String(80))
    message: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    operation_id: Mapped[str | None] = mapped_column(String(80))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(120))
