"""Releasing a site's plan: the plan is stored and its operations handed to the site's agent.

A release plans the site's work that has not started (`scheduling.service.plan_and_promise`), keeps
the plan (`site_plans`) and writes one operation per step of each planned work order, on the
machine and at the time the plan chose. Work the site accepted is `released` (the agent may run
it); work only offered to it is `planned` (it shows in the plan, the agent leaves it alone until a
release after the site accepts). A new release supersedes the operations of work orders that have
not started anywhere and keeps every operation of a work order that has: running and done steps
are history, and the steps still to come of started work keep their place.

Concurrency: the work orders with live operations at the site are locked first, then their
operations (the order report application takes too), so an agent's `started` either lands before
the release (the work order then counts as started and is kept) or after it (on the new row).
Two releases of one site at once meet at the unique index of live steps: the second is a
`Conflict` to try again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from microfactory.catalog.work_order import Operation
from microfactory.db.base import new_id
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import OperationRow, SitePlanRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.orders.lifecycle import AssignmentStatus
from microfactory.production.model import NOT_STARTED, OperationStatus
from microfactory.production.reports import write_first
from microfactory.scheduling.export import plan_json
from microfactory.scheduling.service import plan_and_promise
from microfactory.scheduling.site_plan import Run, SitePlan, SitePlanSettings, figures


@dataclass(frozen=True, slots=True)
class Release:
    """What a release did: the stored plan and how many operations it released, planned, replaced, kept."""

    plan_id: str
    site: str
    released: int
    planned: int
    superseded: int
    kept: int
    slipped: tuple[str, ...]
    figures: dict[str, object]
    site_plan: SitePlan

    def as_dict(self) -> dict[str, object]:
        return {
            "plan_id": self.plan_id,
            "site": self.site,
            "released": self.released,
            "planned": self.planned,
            "superseded": self.superseded,
            "kept": self.kept,
            "slipped": list(self.slipped),
            "figures": self.figures,
        }


def release_plan(
    uow: UnitOfWork,
    site_id: str,
    now: datetime,
    settings: SitePlanSettings | None = None,
    actor: str = "scheduler",
) -> Release:
    """Plan the site's not-started work, store the plan, and release its operations to the site."""
    write_first(uow)
    live = _lock_live_operations(uow, site_id)
    superseded, kept = _supersede_unstarted(live, now)
    kept_work = {row.work_order_id for row in live if row.superseded_at is None}
    uow.session.flush()  # retired before their successors are written: one live row per step
    try:
        site_plan, slipped = plan_and_promise(uow, site_id, now, settings, actor)
    except ValueError as error:  # work the site cannot make: a conflict to resolve, not a crash
        raise Conflict(f"no plan for {site_id}: {error}") from error
    plan_row = SitePlanRow(
        id=new_id("plan"),
        site=site_id,
        created_at=now,
        actor=actor,
        figures=figures(site_plan),
        plan=plan_json(site_plan),
    )
    uow.session.add(plan_row)
    new_rows = _operations(uow, site_plan, plan_row.id, now, kept_work)
    uow.session.add_all(new_rows)
    try:
        uow.session.flush()
    except IntegrityError as error:
        raise Conflict(f"another release of site {site_id} is under way; try again") from error
    released = sum(1 for row in new_rows if row.status == OperationStatus.RELEASED.value)
    return Release(
        plan_row.id,
        site_id,
        released,
        len(new_rows) - released,
        superseded,
        kept,
        tuple(slipped),
        plan_row.figures,
        site_plan,
    )


def _lock_live_operations(uow: UnitOfWork, site_id: str) -> list[OperationRow]:
    """The site's live operations, locked after their work orders (PostgreSQL; SQLite has one writer)."""
    session = uow.session
    live = select(OperationRow.work_order_id).where(
        OperationRow.site == site_id, OperationRow.superseded_at.is_(None)
    )
    session.execute(
        select(WorkOrderRow.id).where(WorkOrderRow.id.in_(live)).order_by(WorkOrderRow.id).with_for_update()
    ).all()
    return list(
        session.scalars(
            select(OperationRow)
            .where(OperationRow.site == site_id, OperationRow.superseded_at.is_(None))
            .order_by(OperationRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    )


def _supersede_unstarted(live: Sequence[OperationRow], now: datetime) -> tuple[int, int]:
    """Retire the operations of work orders none of whose steps has started; keep the others."""
    started = {row.work_order_id for row in live if OperationStatus(row.status) not in NOT_STARTED}
    superseded = 0
    for row in live:
        if row.work_order_id not in started:
            row.superseded_at = now
            superseded += 1
    return superseded, len(live) - superseded


def _operations(
    uow: UnitOfWork, site_plan: SitePlan, plan_id: str, now: datetime, kept_work: set[str]
) -> list[OperationRow]:
    """One operation per step of each planned work order, placed where its batch runs.

    A work order whose operations were kept (one is held, though none has started) keeps them:
    the plan counts its time, but its steps stay where they are.
    """
    accepted = _accepted(uow, site_plan.site, [order.id for order in site_plan.orders])
    steps = {order.id: {op.id: op for op in order.translation.operations} for order in site_plan.orders}
    rows: list[OperationRow] = []
    for run in sorted(site_plan.runs, key=lambda r: (r.start, r.machine)):
        for item in run.batch.items:
            if item.order in kept_work:
                continue
            step = steps[item.order][item.operation]
            status = OperationStatus.RELEASED if item.order in accepted else OperationStatus.PLANNED
            rows.append(_operation(site_plan.site, plan_id, item.order, step, run, status, now))
    return rows


def _operation(
    site: str,
    plan_id: str,
    work_order_id: str,
    step: Operation,
    run: Run,
    status: OperationStatus,
    now: datetime,
) -> OperationRow:
    return OperationRow(
        id=new_id("opr"),
        plan_id=plan_id,
        site=site,
        work_order_id=work_order_id,
        op=step.id,
        capability=step.capability,
        machine=run.machine,
        batch=run.batch.id,
        qty=float(step.qty),
        planned_start=run.start,
        planned_end=run.end,
        status=status.value,
        attempts=0,
        params=dict(step.params),
        after=list(step.after),
        created_at=now,
    )


def _accepted(uow: UnitOfWork, site: str, work_order_ids: Sequence[str]) -> set[str]:
    """The work orders among these whose assignment to the site is accepted."""
    if not work_order_ids:
        return set()
    return set(
        uow.session.scalars(
            select(AssignmentRow.work_order_id).where(
                AssignmentRow.site == site,
                AssignmentRow.status == AssignmentStatus.ACCEPTED.value,
                AssignmentRow.work_order_id.in_(work_order_ids),
            )
        )
    )
