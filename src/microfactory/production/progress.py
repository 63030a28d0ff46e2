"""How operations move their work order: the first start makes it in progress, the last finish made.

The work order's status belongs to `orders.transitions` (`move_work`, which brings the line and
the order's derived status along and audits); this module only decides when to ask. Nothing here
tells the store: it hears of the work again when logistics ships the parcel.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import OperationRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import transitions
from microfactory.orders.lifecycle import WorkOrderStatus
from microfactory.production.model import OperationStatus
from microfactory.production.units import make_units

W = WorkOrderStatus
STARTS = frozenset({W.ASSIGNED.value, W.SCHEDULED.value, W.REWORK.value})
ENDED_WORK = frozenset({W.CANCELLED.value, W.SCRAPPED.value})  # its steps are not to be made


def live_operations(uow: UnitOfWork, work_order_id: str) -> list[OperationRow]:
    """A work order's operations of the current plan (superseded ones are history)."""
    return list(
        uow.session.scalars(
            select(OperationRow)
            .where(OperationRow.work_order_id == work_order_id, OperationRow.superseded_at.is_(None))
            .order_by(OperationRow.planned_start, OperationRow.id)
        )
    )


def operation_moved(
    uow: UnitOfWork, work_order: WorkOrderRow, operation: OperationRow, at: datetime, actor: str
) -> None:
    """Follow an operation's move with its work order (the caller holds the work order's lock)."""
    status = OperationStatus(operation.status)
    if status == OperationStatus.RUNNING and work_order.status in STARTS:
        reason = f"{operation.op} started on {operation.machine} at {operation.site}"
        transitions.move_work(uow, work_order, W.IN_PROGRESS, reason=reason, actor=actor, site=operation.site)
    elif status == OperationStatus.DONE and work_order.status == W.IN_PROGRESS.value:
        steps = live_operations(uow, work_order.id)
        if all(step.status == OperationStatus.DONE.value for step in steps):
            reason = f"every operation done at {operation.site}, the last {operation.op}"
            transitions.move_work(uow, work_order, W.MADE, reason=reason, actor=actor)
            make_units(uow, work_order, operation.site, at)
