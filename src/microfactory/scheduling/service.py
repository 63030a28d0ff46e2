"""Scheduling use cases: plan a site's real work orders, as routing left them.

A site plans the work orders offered to it or accepted by it that have not started, released now
(their parts are reserved on assignment) and due when routing promised to ship them.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from microfactory.catalog.work_order import Translation, translation_from_dict
from microfactory.db import locks
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound
from microfactory.network import service as network_service
from microfactory.network.model import Site
from microfactory.network.promise import promise
from microfactory.network.stored_state import (
    ACTIVE,
    NoNetwork,
    active_assignments,
    active_network_row,
    current,
    network_of,
    site_calendar,
)
from microfactory.orders import service as order_service
from microfactory.orders import transitions
from microfactory.orders.lifecycle import WorkOrderStatus
from microfactory.quality.dispositions import rework_translation
from microfactory.quality.spc_service import held_machines
from microfactory.scheduling.site_plan import SitePlan, SitePlanSettings, WorkOrderInput, plan_site

# rework is planned like new work: the steps a person chose to make again (quality.dispositions)
PLANNED = (WorkOrderStatus.ASSIGNED.value, WorkOrderStatus.SCHEDULED.value, WorkOrderStatus.REWORK.value)
DEFAULT_DUE = timedelta(days=7)  # for work without a promise (none should be; routing promises)


class UnknownSite(NotFound):
    """The site is not a local site of the loaded network."""

    def __init__(self, site_id: str, message: str) -> None:
        super().__init__("site", site_id, message)


def local_site(uow: UnitOfWork, site_id: str) -> Site:
    """A local site of the loaded network (the central factory plans its own work)."""
    row = active_network_row(uow)
    if row is None:
        raise NoNetwork
    network = network_of(row)
    site = network.site(site_id)
    if site is None or site.is_central:
        known = ", ".join(s.id for s in network.local_sites)
        raise UnknownSite(site_id, f"no local site {site_id!r} (sites: {known})")
    return site


def site_work_orders(uow: UnitOfWork, site: Site, now: datetime) -> list[WorkOrderInput]:
    """The site's work orders that are not started, in queue order.

    Each is due by the close of its promised ship day at the site: the customer was promised a
    date, and work done any time that day keeps it.
    """
    rows = uow.session.execute(
        select(WorkOrderRow, AssignmentRow)
        .join(AssignmentRow, AssignmentRow.work_order_id == WorkOrderRow.id)
        .where(
            AssignmentRow.site == site.id,
            AssignmentRow.status.in_(ACTIVE),
            WorkOrderRow.status.in_(PLANNED),
        )
        .order_by(AssignmentRow.created_at, WorkOrderRow.id)
    ).all()
    return [
        WorkOrderInput(
            id=work_order.id,
            translation=_translation(uow, work_order),
            release=now,
            due=_close_of(site, assignment.promised_ship_date) or now + DEFAULT_DUE,
        )
        for work_order, assignment in rows
    ]


def _translation(uow: UnitOfWork, work_order: WorkOrderRow) -> Translation:
    """What the work order makes: its whole translation, or in rework the steps made again."""
    translation = translation_from_dict(work_order.translation)
    if work_order.status != WorkOrderStatus.REWORK.value:
        return translation
    return rework_translation(uow, work_order, translation)


def _close_of(site: Site, day: str | None) -> datetime | None:
    """The end of a site-local working day, in UTC."""
    if not day:
        return None
    closing = datetime.combine(date.fromisoformat(day), site.calendar.close, ZoneInfo(site.timezone))
    return closing.astimezone(UTC)


def plan_and_promise(
    uow: UnitOfWork,
    site_id: str,
    now: datetime,
    settings: SitePlanSettings | None = None,
    actor: str = "scheduler",
) -> tuple[SitePlan, list[str]]:
    """Plan a site, mark its work orders scheduled, and promise each one its planned finish.

    Routing promised from an estimate of the site's queue; the plan knows. A delivery that moves
    past the first promise made is flagged and audited. Returns the plan and the slipped work orders.

    The plan is solved without locks; its results are written under the routing lock, to the
    assignments whose order this transaction could claim (`orders.service.claim_orders`), re-read:
    a cancel or an edit in progress is not written over, its work waits for the next plan.
    """
    site_plan = plan_for_site(uow, site_id, now, settings)
    locks.hold(uow.session, locks.ROUTING)  # routing, expiry and site events move these too
    ctx = current(uow)
    site = ctx.network.sites[site_id]
    partner = ctx.network.partner_of(site)
    calendar = site_calendar(ctx.network, ctx.router.states[site_id], site_id)
    finished = site_plan.completions
    slipped: list[str] = []
    rows = active_assignments(uow, ctx.row.name, site_id)
    claimed = order_service.claim_orders(uow, {row.order_id for row in rows})
    for row in rows:
        done = finished.get(row.work_order_id)
        if done is None or row.order_id not in claimed:
            continue
        uow.session.refresh(row)  # as committed by whoever held the order before us
        uow.session.get(WorkOrderRow, row.work_order_id, populate_existing=True)
        if row.status not in ACTIVE:
            continue
        ship = promise(site, partner, done, 0.0, row.distance_km, calendar)
        if network_service.update_promise(uow, row, ship, actor):
            slipped.append(row.work_order_id)
        work_order = uow.session.get(WorkOrderRow, row.work_order_id)
        if work_order is not None and work_order.status == WorkOrderStatus.ASSIGNED.value:
            reason = f"planned at {site_id} to finish {done.isoformat()}"
            transitions.move_work(
                uow, work_order, WorkOrderStatus.SCHEDULED, reason=reason, actor=actor, site=site_id
            )
    return site_plan, slipped


def plan_for_site(
    uow: UnitOfWork, site_id: str, now: datetime, settings: SitePlanSettings | None = None
) -> SitePlan:
    """Plan a site from storage; raises `NoNetwork`, `UnknownSite`, or `ValueError` for work it cannot make.

    Machines on hold for new jobs (quality's SPC) are left out: the plan uses the others.
    """
    site = without_held(uow, local_site(uow, site_id))
    return plan_site(site, site_work_orders(uow, site, now), now, settings)


def without_held(uow: UnitOfWork, site: Site) -> Site:
    """The site as the planner may use it: without its machines on hold for new jobs."""
    held = held_machines(uow, [site.id]).get(site.id, {})
    if not held:
        return site
    return dataclasses.replace(site, machines=tuple(m for m in site.machines if m.id not in held))
