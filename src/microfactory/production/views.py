"""The JSON of production for the agent API, the work-order view and the CLI.

An operation is named by its row id (what reports cite); `op` is the step's id in the work order's
translation (`make:HSG-TOP`), and `after` lists the row ids of the live steps it waits for.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select

from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import OperationRow, UnitRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.production.model import OperationStatus, is_ready
from microfactory.production.progress import ENDED_WORK, live_operations
from microfactory.production.units import serials_of


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def site_operations(
    uow: UnitOfWork,
    site: str,
    statuses: Collection[str] | None = None,
    capabilities: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """A site's live operations (of work not cancelled or scrapped) by planned start, for its agent.

    `capabilities` narrows them to those steps (a bench's people want only the bench's work).
    """
    query = (
        select(OperationRow)
        .join(WorkOrderRow, WorkOrderRow.id == OperationRow.work_order_id)
        .where(
            OperationRow.site == site,
            OperationRow.superseded_at.is_(None),
            WorkOrderRow.status.not_in(ENDED_WORK),
        )
        .order_by(OperationRow.planned_start, OperationRow.id)
    )
    if statuses:
        query = query.where(OperationRow.status.in_(sorted(statuses)))
    if capabilities:
        query = query.where(OperationRow.capability.in_(sorted(capabilities)))
    rows = list(uow.session.scalars(query))
    siblings = _siblings(uow, {row.work_order_id for row in rows})
    return [agent_view(row, siblings[row.work_order_id]) for row in rows]


def _siblings(uow: UnitOfWork, work_order_ids: set[str]) -> dict[str, dict[str, OperationRow]]:
    """The live steps of each work order by step id (the `after` of an operation names them)."""
    found: dict[str, dict[str, OperationRow]] = {wo: {} for wo in work_order_ids}
    if not work_order_ids:
        return found
    for row in uow.session.scalars(
        select(OperationRow).where(
            OperationRow.work_order_id.in_(sorted(work_order_ids)), OperationRow.superseded_at.is_(None)
        )
    ):
        found[row.work_order_id][row.op] = row
    return found


def agent_view(row: OperationRow, siblings: dict[str, OperationRow]) -> dict[str, Any]:
    """One operation as the edge agent reads it (spec: the agent API)."""
    statuses = {op: OperationStatus(sibling.status) for op, sibling in siblings.items()}
    return {
        "id": row.id,
        "work_order_id": row.work_order_id,
        "op": row.op,
        "capability": row.capability,
        "machine": row.machine,
        "start": row.planned_start.isoformat(),
        "end": row.planned_end.isoformat(),
        "qty": row.qty,
        "params": row.params,
        "after": [siblings[op].id for op in row.after if op in siblings],
        "status": row.status,
        "ready": is_ready(row.after, statuses),
        "batch": row.batch,
        "attempts": row.attempts,
        "hold_reason": row.hold_reason,
    }


def operation_view(row: OperationRow) -> dict[str, Any]:
    """One operation as a work order or a unit's trace shows it: where, when, by whom."""
    return {
        "id": row.id,
        "op": row.op,
        "status": row.status,
        "machine": row.machine,
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
        "capability": row.capability,
        "planned_start": row.planned_start.isoformat(),
        "planned_end": row.planned_end.isoformat(),
        "operator": row.operator,
        "program": row.program,
        "material_lot": row.material_lot,
        "attempts": row.attempts,
        "batch": row.batch,
        "hold_reason": row.hold_reason,
    }


def work_order_production(uow: UnitOfWork, view: dict[str, Any]) -> dict[str, Any]:
    """A work order's view with its production: each step's operation and status, and its units.

    The steps keep their translation keys (`id` is the step's id, as before production existed) and
    gain `operation_id`, `status`, `machine`, `started_at`, `finished_at`; a step no release has
    placed yet is `planned` with no machine.
    """
    live = {row.op: row for row in live_operations(uow, view["id"])}
    steps = []
    for step in view["operations"]:
        row = live.get(step["id"])
        steps.append(
            {
                **step,
                "operation_id": row.id if row else None,
                "status": row.status if row else OperationStatus.PLANNED.value,
                "machine": row.machine if row else None,
                "started_at": _iso(row.started_at) if row else None,
                "finished_at": _iso(row.finished_at) if row else None,
                "planned_start": row.planned_start.isoformat() if row else None,
                "operator": row.operator if row else None,
                "material_lot": row.material_lot if row else None,
            }
        )
    return {**view, "operations": steps, "units": serials_of(uow, view["id"])}


def held_operations(uow: UnitOfWork, site: str | None = None, limit: int = 200) -> list[OperationRow]:
    """Live steps on hold (quality's or a person's), oldest planned first; of one site if named."""
    query = select(OperationRow).where(
        OperationRow.status == OperationStatus.HELD.value, OperationRow.superseded_at.is_(None)
    )
    if site is not None:
        query = query.where(OperationRow.site == site)
    return list(uow.session.scalars(query.order_by(OperationRow.planned_start, OperationRow.id).limit(limit)))


def recent_units(uow: UnitOfWork, site: str | None = None, limit: int = 50) -> list[UnitRow]:
    """The units made last, newest first; of one site if named."""
    query = select(UnitRow)
    if site is not None:
        query = query.where(UnitRow.site == site)
    return list(uow.session.scalars(query.order_by(UnitRow.made_at.desc(), UnitRow.serial).limit(limit)))
