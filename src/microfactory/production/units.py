"""Units: every unit a work order makes gets a serial the moment the work order is made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import UnitRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.production.model import serial


def make_units(uow: UnitOfWork, work_order: WorkOrderRow, site: str, made_at: datetime) -> list[str]:
    """Give each of the work order's `qty` units its serial, once: made again (rework), it keeps
    its units; made again after quality scrapped some, the replacements get the next numbers."""
    rows = uow.session.scalars(
        select(UnitRow).where(UnitRow.work_order_id == work_order.id).order_by(UnitRow.seq)
    ).all()
    kept = [unit.serial for unit in rows if unit.scrapped_at is None]
    missing = work_order.qty - len(kept)
    if missing <= 0:
        return kept
    first = max((unit.seq for unit in rows), default=0) + 1
    units = [
        UnitRow(
            serial=serial(site, made_at, work_order.id, seq),
            work_order_id=work_order.id,
            seq=seq,
            made_at=made_at,
            site=site,
        )
        for seq in range(first, first + missing)
    ]
    uow.session.add_all(units)
    uow.session.flush()
    return kept + [unit.serial for unit in units]


def serials_of(uow: UnitOfWork, work_order_id: str) -> list[str]:
    """The serials of a work order's units, in the order they were numbered."""
    return list(
        uow.session.scalars(
            select(UnitRow.serial).where(UnitRow.work_order_id == work_order_id).order_by(UnitRow.seq)
        )
    )
