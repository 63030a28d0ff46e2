"""Units: every unit a work order makes gets a serial the moment the work order is made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import UnitRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.production.model import serial


def make_units(uow: UnitOfWork, work_order: WorkOrderRow, site: str, made_at: datetime) -> list[str]:
    """Give each of the work order's `qty` units its serial, once: made again, it keeps its units."""
    existing = serials_of(uow, work_order.id)
    if existing:
        return existing
    units = [
        UnitRow(
            serial=serial(site, made_at, work_order.id, seq),
            work_order_id=work_order.id,
            seq=seq,
            made_at=made_at,
            site=site,
        )
        for seq in range(1, work_order.qty + 1)
    ]
    uow.session.add_all(units)
    uow.session.flush()
    return [unit.serial for unit in units]


def serials_of(uow: UnitOfWork, work_order_id: str) -> list[str]:
    """The serials of a work order's units, in the order they were numbered."""
    return list(
        uow.session.scalars(
            select(UnitRow.serial).where(UnitRow.work_order_id == work_order_id).order_by(UnitRow.seq)
        )
    )
