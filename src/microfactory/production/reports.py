"""Applying what a site's agent (or a person at a manual station) reports, each report exactly once.

A report names an operation and an event (started, finished, failed). Its id, made by the agent,
is the primary key of `operation_reports`: the first arrival is applied and recorded in the same
transaction; a resend with the same content is a `duplicate` and changes nothing; the same id with
other content is `refused`, naming each field that differs. A report that does not fit the
operation's state (finished before started, a step of a superseded plan) is refused with the reason
and not recorded, so the agent may send it again once it fits.

Concurrency: each report runs in a savepoint that inserts its id first and then locks the work
order and the operation (`SELECT ... FOR UPDATE` on PostgreSQL). Two resends racing on two
connections meet at the primary key: the later insert waits for the first transaction and, when
that commits, fails on the key; its savepoint is rolled back and the report answered as a
duplicate. On SQLite the transaction takes the database's write lock before it reads anything
(`write_first`), so the second writer waits and then finds the report stored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import OperationReportRow, OperationRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Forbidden
from microfactory.network.model import Machine
from microfactory.production.model import (
    Event,
    OperationStatus,
    Report,
    content_hash,
    differences,
    next_status,
)
from microfactory.production.progress import ENDED_WORK, live_operations, operation_moved
from microfactory.quality.spc_service import held_machines
from microfactory.scheduling.service import local_site

Outcome = Literal["applied", "duplicate", "refused"]


@dataclass(frozen=True, slots=True)
class ReportResult:
    """What became of one report: applied, duplicate (seen before, same content) or refused (why)."""

    id: str
    outcome: Outcome
    reason: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"id": self.id, "outcome": self.outcome, "reason": self.reason}


class _Refused(Exception):
    """Internal: the report does not fit; its savepoint is rolled back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def apply_reports(
    uow: UnitOfWork, site: str, reports: Sequence[Report], actor: str = "agent"
) -> list[ReportResult]:
    """Apply a site's reports in order, each once; `Forbidden` (nothing applied) if one is another site's.

    The caller commits. Machines are checked against the site in the loaded network: a report may
    name the machine the plan chose or another of the site's machines that can do the step.
    """
    write_first(uow)
    _check_sites(uow, site, reports)
    here = local_site(uow, site)
    machines = {machine.id: machine for machine in here.machines}
    held = held_machines(uow, [site]).get(site, {})
    return [_apply_once(uow, site, report, machines, held, actor, here.material_lots) for report in reports]


def write_first(uow: UnitOfWork) -> None:
    """On SQLite, take the database's write lock before reading anything.

    A transaction that reads first holds a snapshot; if another connection commits before it
    writes, SQLite refuses the write at once (no busy wait). Writing first makes it wait its turn.
    """
    if uow.engine.dialect.name == "sqlite":
        uow.session.execute(text("UPDATE operation_reports SET id = id WHERE 0 = 1"))


def _check_sites(uow: UnitOfWork, site: str, reports: Sequence[Report]) -> None:
    ids = sorted({report.operation_id for report in reports})
    if not ids:
        return
    rows = uow.session.execute(
        select(OperationRow.id, OperationRow.site).where(OperationRow.id.in_(ids))
    ).all()
    foreign = sorted(operation_id for operation_id, owner in rows if owner != site)
    if foreign:
        raise Forbidden(f"operations {', '.join(foreign)} are not site {site!r}'s: nothing was applied")


def _apply_once(
    uow: UnitOfWork,
    site: str,
    report: Report,
    machines: dict[str, Machine],
    held: Mapping[str, str],
    actor: str,
    lots: Mapping[str, str],
) -> ReportResult:
    content = report.content()
    stored = uow.session.get(OperationReportRow, report.id)
    if stored is not None:
        return _seen(stored, content)
    try:
        with uow.session.begin_nested():
            uow.session.add(
                OperationReportRow(
                    id=report.id,
                    site=site,
                    operation_id=report.operation_id,
                    event=report.event.value,
                    content_hash=content_hash(content),
                    content=content,
                )
            )
            uow.session.flush()
            _apply(uow, report, machines, held, actor, lots)
    except _Refused as refused:
        return ReportResult(report.id, "refused", refused.reason)
    except IntegrityError:  # the same id, committed by a racing request meanwhile
        raced = uow.session.get(OperationReportRow, report.id, populate_existing=True)
        if raced is None:
            raise
        return _seen(raced, content)
    return ReportResult(report.id, "applied")


def _seen(stored: OperationReportRow, content: dict[str, object]) -> ReportResult:
    if stored.content_hash == content_hash(content):
        return ReportResult(stored.id, "duplicate")
    changed = "; ".join(differences(stored.content, content))
    return ReportResult(
        stored.id, "refused", f"report {stored.id} was sent before with other content: {changed}"
    )


def _apply(
    uow: UnitOfWork,
    report: Report,
    machines: dict[str, Machine],
    held: Mapping[str, str],
    actor: str,
    lots: Mapping[str, str],
) -> None:
    """Lock the work order, then the operation, check the event fits, and move both."""
    operation = uow.session.get(OperationRow, report.operation_id)
    if operation is None:
        raise _Refused(f"no operation {report.operation_id}")
    work_order = uow.session.execute(
        select(WorkOrderRow)
        .where(WorkOrderRow.id == operation.work_order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    operation = uow.session.execute(
        select(OperationRow)
        .where(OperationRow.id == report.operation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    _check(operation, work_order, report, machines)
    if report.event == Event.STARTED and report.machine in held:
        raise _Refused(f"machine {report.machine!r} is on hold for new jobs: {held[report.machine]}")
    if report.event == Event.STARTED:
        _check_ready(uow, operation)
    moved = next_status(operation.id, OperationStatus(operation.status), report.event)
    if not isinstance(moved, OperationStatus):  # a StrEnum is a str too: test for the status
        raise _Refused(_with_hold(operation, moved))
    _record(operation, report, moved, lots)
    operation_moved(uow, work_order, operation, report.at, actor)


def _check(
    operation: OperationRow, work_order: WorkOrderRow, report: Report, machines: dict[str, Machine]
) -> None:
    if operation.superseded_at is not None:
        raise _Refused(f"operation {operation.id} was replaced by a newer plan of site {operation.site}")
    if work_order.status in ENDED_WORK and report.event == Event.STARTED:
        raise _Refused(f"work order {work_order.id} is {work_order.status}; its steps are not to be made")
    if report.event == Event.STARTED:
        machine = machines.get(report.machine)
        if machine is None or machine.capability != operation.capability:
            raise _Refused(
                f"machine {report.machine!r} is not a {operation.capability} machine of site {operation.site}"
            )
        material = operation.params.get("material")
        if material and machine.materials and material not in machine.materials:
            raise _Refused(f"machine {report.machine!r} does not run {material}")
    elif report.machine != operation.machine:
        raise _Refused(f"operation {operation.id} runs on {operation.machine}, not on {report.machine}")
    if report.event != Event.STARTED and operation.started_at and report.at < operation.started_at:
        raise _Refused(f"operation {operation.id} started at {operation.started_at.isoformat()}, after this")


def _check_ready(uow: UnitOfWork, operation: OperationRow) -> None:
    """A step starts once every step it comes after is done (the plan's order is the work's order)."""
    statuses = {row.op: OperationStatus(row.status) for row in live_operations(uow, operation.work_order_id)}
    waiting = [op for op in operation.after if statuses.get(op) != OperationStatus.DONE]
    if waiting:
        raise _Refused(f"operation {operation.id} ({operation.op}) waits for {', '.join(waiting)}")


def _with_hold(operation: OperationRow, reason: str) -> str:
    held = operation.status == OperationStatus.HELD.value and operation.hold_reason
    return f"{reason}: {operation.hold_reason}" if held else reason


def _record(operation: OperationRow, report: Report, moved: OperationStatus, lots: Mapping[str, str]) -> None:
    operation.status = moved.value
    operation.material_lot = _lot(operation, report, lots)
    operation.operator = report.operator or operation.operator
    operation.message = report.message
    if report.event == Event.STARTED:
        operation.machine = report.machine
        operation.started_at = report.at
        operation.finished_at = None
        operation.attempts += 1
        operation.program = report.program or operation.program
    else:
        operation.finished_at = report.at


def _lot(operation: OperationRow, report: Report, lots: Mapping[str, str]) -> str | None:
    """The lot of the material a step used: the one reported, else (at a start) the lot the network
    says the site is on for the step's material, else what was known before; never guessed.
    """
    if report.material_lot is not None:
        return report.material_lot
    if report.event == Event.STARTED:
        material = operation.params.get("material")
        return lots.get(material) if isinstance(material, str) else None
    return operation.material_lot
