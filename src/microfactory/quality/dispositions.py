"""Non-conformance reports and what a person decides about a failed unit.

A failed verdict opens an NCR for the unit (one open NCR per unit: a partial unique index) and
moves its work order to `held` (`orders.transitions`), where it cannot ship: shipping needs made
work. A review verdict holds the work order too, until a person's verdict. A person then disposes
the NCR with a reason:

- `use_as_is`: the unit is accepted as it is; the work order goes back to made (audited with the
  reason), and the unit may ship (`blocked_units` no longer names it);
- `rework` / `repair`: the work order goes to `rework`, its operations are retired and the steps
  to make again (all by default, or those named) are planned at its site like any other work
  (`scheduling` plans rework work orders through `rework_translation`); their first start moves it
  to in progress, the last finish to made again, and the unit is inspected again;
- `scrap`: the unit is scrapped, the work order goes scrapped → released (a replacement is made),
  its assignment ends, and routing and planning take it like new work; the replacement units get
  new serials when it is made.

Claims: the work order is locked first (`FOR UPDATE`, as recording does), then the NCR is closed
by a conditional UPDATE (`status = 'open'`): of two people disposing one NCR at once, one wins
and the other gets a `Conflict` naming the first decision.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update

from microfactory.catalog.work_order import Translation
from microfactory.db.base import new_id
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import OperationRow, UnitRow
from microfactory.db.tables.quality import InspectionRow, NcrRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid, NotFound
from microfactory.network import service as network_service
from microfactory.orders import transitions
from microfactory.orders.lifecycle import WorkOrderStatus
from microfactory.problems import Problem
from microfactory.quality.inspectors import Verdict
from microfactory.quality.views import inspection_view, ncr_view

W = WorkOrderStatus
OPEN, DISPOSED = "open", "disposed"


class Disposition(StrEnum):
    USE_AS_IS = "use_as_is"
    REWORK = "rework"
    REPAIR = "repair"
    SCRAP = "scrap"


REMAKE = frozenset({Disposition.REWORK, Disposition.REPAIR})


class NcrNotFound(NotFound):
    def __init__(self, ncr_id: str) -> None:
        super().__init__("ncr", ncr_id, f"no non-conformance report {ncr_id!r}")


def after_verdict(
    uow: UnitOfWork, unit: UnitRow, work_order: WorkOrderRow, row: InspectionRow, actor: str, now: datetime
) -> NcrRow | None:
    """Act on a recorded verdict: fail → NCR and hold, review → hold, pass → release a hold if clear."""
    verdict = Verdict(row.verdict)
    if verdict == Verdict.FAIL:
        ncr = _open_ncr(uow, unit, work_order, row, now)
        _hold(uow, work_order, f"unit {unit.serial} failed inspection {row.id} ({ncr.id})", actor)
        return ncr
    if verdict == Verdict.REVIEW:
        _hold(uow, work_order, f"unit {unit.serial} waits for a person's verdict ({row.id})", actor)
        return None
    _release_if_clear(uow, work_order, f"unit {unit.serial} passed inspection {row.id}", actor)
    return None


def _open_ncr(
    uow: UnitOfWork, unit: UnitRow, work_order: WorkOrderRow, row: InspectionRow, now: datetime
) -> NcrRow:
    """The unit's open NCR (a new failure of a unit already reported joins its NCR), else a new one."""
    existing = uow.session.scalars(
        select(NcrRow).where(NcrRow.serial == unit.serial, NcrRow.status == OPEN)
    ).one_or_none()
    if existing is not None:
        return existing
    failed = [check for check in row.checks if check["verdict"] == Verdict.FAIL.value]
    summary = "; ".join(
        f"{check['inspector']} scored {float(check['score']):.3g}"
        + (f" (threshold {check['threshold']})" if check["threshold"] is not None else "")
        + "".join(f", {finding['label']} at {finding['region']}" for finding in check["findings"][:3])
        for check in failed
    )
    ncr = NcrRow(
        id=new_id("ncr"),
        serial=unit.serial,
        work_order_id=work_order.id,
        inspection_id=row.id,
        site=unit.site,
        product=work_order.product,
        summary=summary or (row.note or "failed"),
        status=OPEN,
        created_at=now,
    )
    uow.session.add(ncr)
    uow.session.flush()
    return ncr


def _hold(uow: UnitOfWork, work_order: WorkOrderRow, reason: str, actor: str) -> None:
    if work_order.status == W.MADE.value:
        transitions.move_work_order(uow, work_order, W.HELD, reason=reason, actor=actor)


def _release_if_clear(uow: UnitOfWork, work_order: WorkOrderRow, reason: str, actor: str) -> None:
    """A held work order goes back to made once no open NCR and no unit waiting for a verdict keep it."""
    if work_order.status != W.HELD.value:
        return
    if open_ncrs(uow, work_order.id) or blocked_units(uow, work_order.id):
        return
    transitions.move_work_order(uow, work_order, W.MADE, reason=reason, actor=actor)


def open_ncrs(uow: UnitOfWork, work_order_id: str) -> list[NcrRow]:
    return list(
        uow.session.scalars(
            select(NcrRow).where(NcrRow.work_order_id == work_order_id, NcrRow.status == OPEN)
        )
    )


def blocked_units(uow: UnitOfWork, work_order_id: str) -> list[str]:
    """The work order's units that may not ship: their last verdict is not a pass, and no person
    accepted it as is. Scrapped units are not shipped at all, and units never inspected are not
    blocked (sampling decides which units are looked at)."""
    units = uow.session.scalars(
        select(UnitRow.serial).where(UnitRow.work_order_id == work_order_id, UnitRow.scrapped_at.is_(None))
    ).all()
    blocked = []
    for serial in units:
        last = uow.session.scalars(
            select(InspectionRow)
            .where(InspectionRow.serial == serial)
            .order_by(InspectionRow.created_at.desc(), InspectionRow.id.desc())
            .limit(1)
        ).one_or_none()
        if last is None or last.verdict == Verdict.PASS.value:
            continue
        accepted = uow.session.scalar(
            select(NcrRow.id).where(
                NcrRow.inspection_id == last.id, NcrRow.disposition == Disposition.USE_AS_IS.value
            )
        )
        if accepted is None:
            blocked.append(f"unit {serial}: last inspection {last.id} is {last.verdict}")
    return blocked


def dispose(
    uow: UnitOfWork,
    ncr_id: str,
    disposition: Disposition,
    reason: str,
    actor: str,
    now: datetime,
    steps: list[str] | None = None,
) -> NcrRow:
    """A person's decision on an NCR, with a reason; exactly one decision per NCR wins."""
    if not reason.strip():
        raise Invalid("a disposition needs a reason", [Problem("reason", "must not be empty")])
    ncr = uow.session.get(NcrRow, ncr_id)
    if ncr is None:
        raise NcrNotFound(ncr_id)
    work_order = uow.session.scalars(
        select(WorkOrderRow)
        .where(WorkOrderRow.id == ncr.work_order_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    chosen = _check_steps(work_order, disposition, steps)
    claimed = uow.session.execute(
        update(NcrRow)
        .where(NcrRow.id == ncr_id, NcrRow.status == OPEN)
        .values(
            status=DISPOSED,
            disposition=disposition.value,
            reason=reason,
            steps=chosen,
            disposed_by=actor,
            disposed_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        uow.session.refresh(ncr)
        raise Conflict(
            f"NCR {ncr_id} was already disposed: {ncr.disposition} by {ncr.disposed_by} ({ncr.reason})"
        )
    uow.session.refresh(ncr)
    why = f"NCR {ncr.id} of unit {ncr.serial}: {disposition.value}: {reason}"
    _apply(uow, ncr, work_order, disposition, why, actor, now)
    return ncr


def _check_steps(
    work_order: WorkOrderRow, disposition: Disposition, steps: list[str] | None
) -> list[str] | None:
    if disposition not in REMAKE:
        if steps:
            raise Invalid(
                "only rework and repair make steps again", [Problem("steps", "use it with rework or repair")]
            )
        return None
    known = [str(op["id"]) for op in work_order.translation.get("operations", [])]
    if not steps:
        return known
    unknown = [step for step in steps if step not in known]
    if unknown:
        raise Invalid(
            "unknown steps",
            [
                Problem("steps", f"{step!r} is not a step of work order {work_order.id} ({', '.join(known)})")
                for step in unknown
            ],
        )
    return [step for step in known if step in steps]


def _apply(
    uow: UnitOfWork,
    ncr: NcrRow,
    work_order: WorkOrderRow,
    disposition: Disposition,
    why: str,
    actor: str,
    now: datetime,
) -> None:
    if disposition == Disposition.USE_AS_IS:
        _release_if_clear(uow, work_order, f"{why} (override)", actor)
        return
    if work_order.status == W.MADE.value:  # an NCR beside another one already decided
        transitions.move_work_order(uow, work_order, W.HELD, reason=why, actor=actor)
    if disposition in REMAKE:
        transitions.move_work_order(uow, work_order, W.REWORK, reason=why, actor=actor)
        _retire_operations(uow, work_order.id, now)
        return
    unit = uow.session.get(UnitRow, ncr.serial)
    assert unit is not None  # the foreign key keeps it
    unit.scrapped_at = now
    transitions.move_work_order(uow, work_order, W.SCRAPPED, reason=why, actor=actor)
    network_service.release_work_order(uow, work_order.id, why, actor)
    _retire_operations(uow, work_order.id, now)
    transitions.move_work(
        uow, work_order, W.RELEASED, reason=f"{why}: a replacement is made", actor=actor, site=None
    )


def _retire_operations(uow: UnitOfWork, work_order_id: str, now: datetime) -> None:
    """The made steps become history (superseded), so the next release plans the work afresh."""
    uow.session.execute(
        update(OperationRow)
        .where(OperationRow.work_order_id == work_order_id, OperationRow.superseded_at.is_(None))
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )


def rework_translation(uow: UnitOfWork, work_order: WorkOrderRow, translation: Translation) -> Translation:
    """The steps a work order in rework makes again (the last rework or repair decision's), their
    order kept among themselves: what scheduling plans for it."""
    steps = uow.session.scalar(
        select(NcrRow.steps)
        .where(
            NcrRow.work_order_id == work_order.id,
            NcrRow.disposition.in_([d.value for d in REMAKE]),
        )
        .order_by(NcrRow.disposed_at.desc())
        .limit(1)
    )
    if not steps:
        return translation
    chosen = set(steps)
    operations = tuple(
        dataclasses.replace(op, after=tuple(step for step in op.after if step in chosen))
        for op in translation.operations
        if op.id in chosen
    )
    return dataclasses.replace(translation, operations=operations)


def get_ncr(uow: UnitOfWork, ncr_id: str) -> NcrRow:
    ncr = uow.session.get(NcrRow, ncr_id)
    if ncr is None:
        raise NcrNotFound(ncr_id)
    return ncr


def list_ncrs(
    uow: UnitOfWork, status: str | None = None, site: str | None = None, limit: int = 100, offset: int = 0
) -> list[NcrRow]:
    """NCRs oldest first, by status and site; an unknown status is refused, not an empty list."""
    if status and status not in (OPEN, DISPOSED):
        raise Invalid(
            "unknown NCR status", [Problem("status", f"{status!r} is not one of {OPEN}, {DISPOSED}")]
        )
    query = select(NcrRow).order_by(NcrRow.created_at, NcrRow.id)
    if status:
        query = query.where(NcrRow.status == status)
    if site:
        query = query.where(NcrRow.site == site)
    return list(uow.session.scalars(query.limit(limit).offset(offset)))


def ncr_detail(uow: UnitOfWork, ncr: NcrRow) -> dict[str, Any]:
    """An NCR with the inspection that opened it (the evidence a person decides on)."""
    inspection = uow.session.get(InspectionRow, ncr.inspection_id)
    work_order = uow.session.get(WorkOrderRow, ncr.work_order_id)
    return {
        **ncr_view(ncr),
        "inspection": inspection_view(inspection) if inspection is not None else None,
        "work_order_status": work_order.status if work_order is not None else None,
        "steps_available": [str(op["id"]) for op in work_order.translation.get("operations", [])]
        if work_order
        else [],
    }
