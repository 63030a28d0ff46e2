"""Manual stations and holds: a person's start, finish or fail, and quality's hold on a step.

A person at a station reports through the same use case as the agent (`reports.apply_reports`),
with a report id made here, so a manual step is applied, audited and counted exactly like a machine's.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select

from microfactory.db.tables.production import OperationRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, NotFound
from microfactory.production.model import HOLDABLE, Event, OperationStatus, Report
from microfactory.production.reports import ReportResult, apply_reports


class OperationNotFound(NotFound):
    def __init__(self, operation_id: str) -> None:
        super().__init__("operation", operation_id, f"no operation {operation_id!r}")


def get_operation(uow: UnitOfWork, operation_id: str) -> OperationRow:
    operation = uow.session.get(OperationRow, operation_id)
    if operation is None:
        raise OperationNotFound(operation_id)
    return operation


def report_by_hand(
    uow: UnitOfWork,
    operation_id: str,
    event: Event,
    at: datetime,
    operator: str | None = None,
    machine: str | None = None,
    actor: str = "station",
    material_lot: str | None = None,
) -> ReportResult:
    """A person's report on a step (on its planned machine unless named); a refusal is a `Conflict`.

    `material_lot` is the lot the person took the material from; without it the site's current lot
    (network file) is recorded at the start, or nothing.
    """
    operation = get_operation(uow, operation_id)
    report = Report(
        id=f"manual-{uuid.uuid4().hex}",
        operation_id=operation.id,
        event=event,
        machine=machine or operation.machine,
        at=at,
        operator=operator,
        material_lot=material_lot,
    )
    result = apply_reports(uow, operation.site, [report], actor)[0]
    if result.outcome == "refused":
        raise Conflict(result.reason or f"operation {operation_id}: {event.value} refused")
    return result


def hold(uow: UnitOfWork, operation_id: str, reason: str) -> OperationRow:
    """Hold a step that is not running, with the reason the agent and the trace show."""
    operation = _locked(uow, operation_id)
    if OperationStatus(operation.status) not in HOLDABLE or operation.superseded_at is not None:
        raise Conflict(f"operation {operation_id} is {operation.status}; only a step not running may be held")
    operation.status = OperationStatus.HELD.value
    operation.hold_reason = reason
    return operation


def release_hold(uow: UnitOfWork, operation_id: str) -> OperationRow:
    """Give a held step back to its site: released again, its reason kept in the trace until it runs."""
    operation = _locked(uow, operation_id)
    if operation.status != OperationStatus.HELD.value:
        raise Conflict(f"operation {operation_id} is {operation.status}, not held")
    operation.status = OperationStatus.RELEASED.value
    return operation


def _locked(uow: UnitOfWork, operation_id: str) -> OperationRow:
    operation = uow.session.execute(
        select(OperationRow)
        .where(OperationRow.id == operation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if operation is None:
        raise OperationNotFound(operation_id)
    return operation
