"""The network as loaded and as it is now: sites, machines up or down, stock, and where work goes.

The document is kept whole (like a catalog version) so the model can be rebuilt; the rows beside it
hold what changes: machines going down, sites closing, stock counts, reservations, assignments.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from microfactory.db.base import Base, utcnow

ACTIVE_WHERE = "status IN ('offered', 'accepted')"  # `lifecycle.ACTIVE_ASSIGNMENT`, as SQL


class NetworkRow(Base):
    __tablename__ = "networks"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    document: Mapped[dict[str, Any]]
    weights: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the operator's routing weights
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteRow(Base):
    """A site's state: open or closed until further notice, and the days it closed for."""

    __tablename__ = "network_sites"
    __table_args__ = (UniqueConstraint("network_id", "site"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    open: Mapped[bool] = mapped_column(default=True)
    closed_dates: Mapped[list[Any]] = mapped_column(default=list)  # ISO dates, on top of the calendar's
    note: Mapped[str] = mapped_column(Text, default="")


class MachineRow(Base):
    __tablename__ = "network_machines"
    __table_args__ = (UniqueConstraint("network_id", "machine"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(String(80), index=True)
    machine: Mapped[str] = mapped_column(String(80))
    capability: Mapped[str] = mapped_column(String(80))
    up: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class StockRow(Base):
    """Bought-in parts on hand at a site, as last counted; reservations are subtracted when routing."""

    __tablename__ = "network_stock"
    __table_args__ = (UniqueConstraint("network_id", "site", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    site: Mapped[str] = mapped_column(String(80))
    part: Mapped[str] = mapped_column(String(120))
    on_hand: Mapped[Decimal]
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssignmentRow(Base):
    """A work order offered to a site: offered, accepted, declined, expired or released.

    One work order has at most one active (offered or accepted) assignment; the others are its
    history. A partial unique index (migration 0007) holds the database to it, so that two routers
    racing can never offer the same work twice. `explanation` is the routing decision as JSON; `group_id` ties work orders of an order
    that stays together, so that a decline moves all of them.
    """

    __tablename__ = "assignments"
    __table_args__ = (
        Index("ix_assignments_site_status", "site", "status"),
        Index("ix_assignments_work_order_status", "work_order_id", "status"),
        Index(
            "uq_assignments_active_work_order",
            "work_order_id",
            unique=True,
            postgresql_where=text(ACTIVE_WHERE),
            sqlite_where=text(ACTIVE_WHERE),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(40), index=True)
    group_id: Mapped[str] = mapped_column(String(40), index=True)
    network: Mapped[str] = mapped_column(String(100))
    site: Mapped[str] = mapped_column(String(80))
    central: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    minutes: Mapped[dict[str, Any]]  # working minutes by capability: the site's queue is their sum
    distance_km: Mapped[float | None]
    explanation: Mapped[dict[str, Any]]
    promised_ship_at: Mapped[datetime | None]
    promised_delivery_at: Mapped[datetime | None]
    promised_ship_date: Mapped[str | None] = mapped_column(String(10))  # site-local date, ISO
    promised_delivery_date: Mapped[str | None] = mapped_column(String(10))
    first_promised_delivery_at: Mapped[datetime | None]
    slipped: Mapped[bool] = mapped_column(default=False)
    deadline: Mapped[datetime | None]  # the site must accept before this, or the offer expires
    reason: Mapped[str] = mapped_column(Text, default="")  # why it was declined, expired, released
    decided_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ReservationRow(Base):
    """Parts set aside at a site for an assignment; released when the assignment ends unfinished."""

    __tablename__ = "stock_reservations"
    __table_args__ = (Index("ix_stock_reservations_site_part", "site", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    assignment_id: Mapped[str] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(80))
    part: Mapped[str] = mapped_column(String(120))
    qty: Mapped[Decimal]
    released_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
