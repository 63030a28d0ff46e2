"""Quality: inspections of units with their evidence, non-conformance reports, machine holds.

An inspection keeps what judged the unit (each check's inspector kind and version, scores and
regions), who and where (actor, station), and the image it judged: its bytes in
`inspection_images` or a file in the configured directory, named by its content hash. A failed
unit has one open NCR at a time (the partial unique index); a person's disposition closes it by
a conditional UPDATE, so of two people disposing at once one wins and the other is told. A
machine has at most one hold in force (released_at NULL), with the SPC signal that put it there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from microfactory.db.base import Base, utcnow

OPEN_NCR = text("status = 'open'")
HOLD_IN_FORCE = text("released_at IS NULL")


class InspectionImageRow(Base):
    __tablename__ = "inspection_images"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # None: kept as `path`
    path: Mapped[str | None] = mapped_column(String(400), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InspectionRow(Base):
    __tablename__ = "inspections"
    __table_args__ = (Index("ix_inspections_serial_created", "serial", "created_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    serial: Mapped[str] = mapped_column(ForeignKey("units.serial", ondelete="CASCADE"))
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(80))
    product: Mapped[str] = mapped_column(String(120))
    verdict: Mapped[str] = mapped_column(String(20))
    manual: Mapped[bool] = mapped_column(default=False)
    checks: Mapped[list[Any]]  # [{inspector, version, verdict, score, threshold, findings}]
    machines: Mapped[list[Any]]  # the machines that made the unit, for SPC by machine
    image_id: Mapped[str | None] = mapped_column(ForeignKey("inspection_images.id"), default=None)
    station: Mapped[str | None] = mapped_column(String(120), default=None)
    actor: Mapped[str] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NcrRow(Base):
    __tablename__ = "ncrs"
    __table_args__ = (
        Index("uq_ncrs_open_serial", "serial", unique=True, sqlite_where=OPEN_NCR, postgresql_where=OPEN_NCR),
        Index("ix_ncrs_status_created", "status", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    serial: Mapped[str] = mapped_column(ForeignKey("units.serial", ondelete="CASCADE"))
    work_order_id: Mapped[str] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id"))
    site: Mapped[str] = mapped_column(String(80))
    product: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # open | disposed
    disposition: Mapped[str | None] = mapped_column(String(20), default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    steps: Mapped[list[Any] | None] = mapped_column(default=None)  # rework/repair: the steps made again
    disposed_by: Mapped[str | None] = mapped_column(String(120), default=None)
    disposed_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MachineHoldRow(Base):
    __tablename__ = "machine_holds"
    __table_args__ = (
        Index(
            "uq_machine_holds_in_force",
            "site",
            "machine",
            unique=True,
            sqlite_where=HOLD_IN_FORCE,
            postgresql_where=HOLD_IN_FORCE,
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    site: Mapped[str] = mapped_column(String(80))
    machine: Mapped[str] = mapped_column(String(80))
    chart: Mapped[str] = mapped_column(String(80))  # e.g. p:defects or x:nozzle_temp
    rule: Mapped[str] = mapped_column(String(40))
    explanation: Mapped[str] = mapped_column(Text)
    signal: Mapped[dict[str, Any]]
    held_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None] = mapped_column(default=None)
    released_by: Mapped[str | None] = mapped_column(String(120), default=None)
    release_reason: Mapped[str | None] = mapped_column(Text, default=None)
