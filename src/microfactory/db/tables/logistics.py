"""Logistics: parcels handed to fulfilment partners, their tracking events, and each partner's health.

A shipment is one parcel from one site: the order lines (and unit serials) it holds, its mass and
size, the rate bought, the label (its PDF kept as bytes, so the packing station can print it again
without the carrier), the tracking number, and promised versus actual delivery. Its
`idempotency_key` is unique: packing the same lines twice finds the same parcel, and the carrier is
asked for its label under the shipment's id, so a retry or a second worker never buys twice.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from microfactory.db.base import Base, utcnow


class ShipmentRow(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        Index("ix_shipments_status_checked", "status", "tracked_at"),
        Index("ix_shipments_tracking", "tracking_number"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(80), index=True)
    partner: Mapped[str] = mapped_column(String(80))
    carrier: Mapped[str] = mapped_column(String(40))  # the partner's carrier kind when packed
    status: Mapped[str] = mapped_column(String(30), index=True)
    # [{"line_id", "qty", "work_order_id", "serials": [...]}]
    lines: Mapped[list[Any]] = mapped_column(JSON)
    mass_kg: Mapped[Decimal] = mapped_column(Numeric(10, 3))
    length_cm: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    width_cm: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    height_cm: Mapped[Decimal] = mapped_column(Numeric(8, 1))
    policy: Mapped[str] = mapped_column(String(30))
    rate: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the chosen rate, as the carrier gave it
    rate_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    rate_currency: Mapped[str | None] = mapped_column(String(3))
    buy_partner: Mapped[str | None] = mapped_column(
        String(80)
    )  # set before the first buy: never switched after
    label_id: Mapped[str | None] = mapped_column(String(120))  # the carrier's shipment or label id
    tracking_number: Mapped[str | None] = mapped_column(String(120))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    label_url: Mapped[str | None] = mapped_column(String(500))
    label_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pickup_id: Mapped[str | None] = mapped_column(String(120))
    promised_delivery_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    tracked_at: Mapped[datetime | None]  # the last tracking news (webhook or poll)
    last_error: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(80), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class TrackingEventRow(Base):
    """One tracking update of a shipment, kept once: a repeated webhook or poll adds nothing."""

    __tablename__ = "shipment_events"
    __table_args__ = (UniqueConstraint("shipment_id", "state", "at", name="uq_shipment_events_once"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    shipment_id: Mapped[str] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime]
    message: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(20))  # webhook | poll | handoff
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class PartnerHealthRow(Base):
    """A partner's circuit breaker: closed, open (paused until `retry_at`) or half_open (one probe)."""

    __tablename__ = "partner_health"

    partner: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[str] = mapped_column(String(20), default="closed")
    failures: Mapped[int] = mapped_column(default=0)  # consecutive
    opened_at: Mapped[datetime | None]
    retry_at: Mapped[datetime | None]
    probe_by: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    alert_id: Mapped[str | None] = mapped_column(String(40))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
