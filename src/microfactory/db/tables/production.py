"""Production: stored site plans, the operations they release, the agent's reports, units made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from microfactory.db.base import Base, utcnow

LIVE = text("superseded_at IS NULL")


class SitePlanRow(Base):
    """A plan as it was released: its figures and runs (the JSON of `schedule export`)."""

    __tablename__ = "site_plans"
    __table_args__ = (Index("ix_site_plans_site_created", "site", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80), default="scheduler")
    figures: Mapped[dict[str, Any]]
    plan: Mapped[dict[str, Any]]


class OperationRow(Base):
    """One step of one work order at its site, as a plan placed it and as the agent reports it.

    A new release supersedes the rows that have not started (`superseded_at`); among the live rows
    a work order has one per step (the partial unique index).
    """

    __tablename__ = "operations"
    __table_args__ = (
        Index(
            "uq_operations_live_step",
            "work_order_id",
            "op",
            unique=True,
            sqlite_where=LIVE,
            postgresql_where=LIVE,
        ),
        Index("ix_operations_site_status", "site", "status"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("site_plans.id"))
    site: Mapped[str] = mapped_column(String(80))
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    op: Mapped[str] = mapped_column(String(160))  # the step's id in the work order's translation
    capability: Mapped[str] = mapped_column(String(80))
    machine: Mapped[str] = mapped_column(String(80))
    batch: Mapped[str | None] = mapped_column(String(80), default=None)  # the plan's run it is part of
    qty: Mapped[float]
    planned_start: Mapped[datetime]
    planned_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    operator: Mapped[str | None] = mapped_column(String(120), default=None)
    program: Mapped[str | None] = mapped_column(String(300), default=None)
    # the lot of the material used: as reported, else the site's current lot at start; null if unknown
    material_lot: Mapped[str | None] = mapped_column(String(120), default=None)
    message: Mapped[str | None] = mapped_column(Text, default=None)
    hold_reason: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]]
    after: Mapped[list[Any]]  # step ids of the same work order that must be done first
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(default=None)


class OperationReportRow(Base):
    """A report applied once: its id (the agent's) is the key, its content hash tells a resend."""

    __tablename__ = "operation_reports"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    site: Mapped[str] = mapped_column(String(80))
    operation_id: Mapped[str] = mapped_column(ForeignKey("operations.id"), index=True)
    event: Mapped[str] = mapped_column(String(20))
    content_hash: Mapped[str] = mapped_column(String(64))
    content: Mapped[dict[str, Any]]
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitRow(Base):
    """One unit made: its serial, the work order it came from and where and when it was made."""

    __tablename__ = "units"
    __table_args__ = (UniqueConstraint("work_order_id", "seq"),)

    serial: Mapped[str] = mapped_column(String(80), primary_key=True)
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    site: Mapped[str] = mapped_column(String(80))
    scrapped_at: Mapped[datetime | None] = mapped_column(default=None)  # quality scrapped it (migration 0010)
