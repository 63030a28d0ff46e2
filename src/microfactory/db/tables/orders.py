"""Orders, their lines, work orders, the audit trail of state changes, and API tokens."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microfactory.db.base import Base, utcnow


class OrderRow(Base):
    __tablename__ = "orders"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    channel: Mapped[str] = mapped_column(String(40))
    external_id: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(30), index=True)
    name: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(320))
    currency: Mapped[str | None] = mapped_column(String(3))
    total_price: Mapped[Decimal | None]
    ship_to: Mapped[dict[str, Any]]
    allow_split: Mapped[bool] = mapped_column(default=False)
    source_updated_at: Mapped[datetime | None]
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    lines: Mapped[list[OrderLineRow]] = relationship(
        back_populates="order", order_by="OrderLineRow.position", cascade="all, delete-orphan"
    )


class OrderLineRow(Base):
    __tablename__ = "order_lines"
    __table_args__ = (Index("ix_order_lines_order_position", "order_id", "position"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))  # manufacture | fulfilment_only
    sku: Mapped[str | None] = mapped_column(String(120))
    product: Mapped[str | None] = mapped_column(String(120))
    title: Mapped[str | None] = mapped_column(String(300))
    qty: Mapped[int]
    options: Mapped[dict[str, Any]]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unit_price: Mapped[Decimal | None]
    status: Mapped[str] = mapped_column(String(30), index=True)
    problems: Mapped[list[Any]] = mapped_column(default=list)
    configuration_key: Mapped[str | None] = mapped_column(String(80), index=True)
    site: Mapped[str | None] = mapped_column(String(80))

    order: Mapped[OrderRow] = relationship(back_populates="lines")
    work_order: Mapped[WorkOrderRow | None] = relationship(back_populates="line", uselist=False)


class WorkOrderRow(Base):
    __tablename__ = "work_orders"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_line_id: Mapped[str] = mapped_column(ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    catalog: Mapped[str] = mapped_column(String(100))
    catalog_version: Mapped[int]
    product: Mapped[str] = mapped_column(String(120))
    configuration_key: Mapped[str] = mapped_column(String(80), index=True)
    qty: Mapped[int]
    translation: Mapped[dict[str, Any]]
    total_minutes: Mapped[float]
    site: Mapped[str | None] = mapped_column(String(80), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    line: Mapped[OrderLineRow] = relationship(back_populates="work_order")


class AuditEventRow(Base):
    """Who changed what, when and why: the trace of every order, line and work order."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    entity: Mapped[str] = mapped_column(String(30))
    entity_id: Mapped[str] = mapped_column(String(40))
    from_status: Mapped[str | None] = mapped_column(String(30))
    to_status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(80), default="system")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiTokenRow(Base):
    """A stored API token: only the SHA-256 of its secret is kept (shown once, at creation)."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index(
            "uq_api_tokens_live_name",
            "name",
            unique=True,
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="planner")
    site: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
