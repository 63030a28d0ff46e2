"""Network use cases: load a network, route work orders, and the life of an assignment.

A routed work order is *offered* to its site with a deadline; the site accepts, or declines with a
reason, and a decline or silence past the deadline passes the work to the next best site (the
sites that said no are excluded, and the explanation says so). Parts are reserved when work is
offered and released when it moves, is declined, or is cancelled. The central factory accepts at
once: its lead time is quoted, not negotiated.

Concurrency (decision 0009): routing decides on every site's load and stock, so one router decides
at a time (`db.locks.hold(ROUTING)`: a PostgreSQL advisory lock, SQLite's one writer) and each run
claims the released work orders and their orders with `FOR UPDATE SKIP LOCKED`, re-reading their
status under the lock; a partial unique index backs it (one active assignment per work order).
Whoever holds the routing lock never waits for a row, so no cycle with a cancel or a sync (which
lock the order first) can form. Accept and decline lock their rows and re-check the status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from microfactory.db import locks
from microfactory.db.base import new_id, utcnow
from microfactory.db.tables.network import (
    AssignmentRow,
    ReservationRow,
)
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, NotFound
from microfactory.network.demand import Demand, RoutingWeights
from microfactory.network.promise import Promise, promise
from microfactory.network.routing import RoutingDecision
from microfactory.network.stored_state import (
    ACTIVE,
    Current,
    active_assignments,
    current,
    demand_of,
    destination,
    site_calendar,
)
from microfactory.network.versions import LoadResult, set_weights
from microfactory.orders import audit, events, transitions
from microfactory.orders import service as order_service
from microfactory.orders.lifecycle import (
    AssignmentStatus,
    IllegalTransition,
    LineStatus,
    WorkOrderStatus,
    has_work_started,
)

WITHDRAWN = (AssignmentStatus.DECLINED.value, AssignmentStatus.EXPIRED.value)
__all__ = ["AssignmentConflict", "LoadResult", "RoutingOutcome", "load_network", "set_weights"]


class AssignmentConflict(Conflict):
    """The assignment is not in a state that allows the request (e.g. accepting a declined offer)."""


@dataclass
class RoutingOutcome:
    """One routing decision as stored: where the work orders went, and the assignments made."""

    work_order_ids: list[str]
    site: str | None
    central: bool
    explanation: dict[str, Any]
    assignments: list[AssignmentRow] = field(default_factory=list)


def load_network(
    uow: UnitOfWork, document: Mapping[str, Any], *, now: datetime | None = None, actor: str = "system"
) -> LoadResult:
    """Validate and store a network, making it the active one (see `versions.load_network`).

    A changed network moves the work its sites can no longer make (`reload.py`).
    """
    from microfactory.network import reload  # reload moves work with the routing use cases below

    register_event_handlers()
    return reload.load_network(uow, document, now, actor)


def register_event_handlers() -> None:
    """Subscribe to order events: a cancelled work order gives its parts and its place back."""
    events.subscribe(events.WorkOrderCancelled, _on_work_order_cancelled)


def _on_work_order_cancelled(uow: UnitOfWork, event: events.WorkOrderCancelled) -> None:
    release_work_order(uow, event.work_order_id, f"work order cancelled: {event.reason}")


def route_work_orders(
    uow: UnitOfWork,
    work_order_ids: Sequence[str] | None = None,
    *,
    weights: RoutingWeights | None = None,
    now: datetime | None = None,
    actor: str = "system",
    progress: Callable[[int], None] | None = None,
) -> list[RoutingOutcome]:
    """Route released work orders (those named, or all of them), offer them to their sites.

    Work orders of an order that may not be split are routed together, with any other released
    work orders of the same order.
    """
    register_event_handlers()
    now = now or utcnow()
    locks.hold(uow.session, locks.ROUTING)  # before reading: decide on what the last router left
    ctx = current(uow, weights)
    groups = _claim_orders(uow, _released_groups(uow, work_order_ids))
    history = _history(uow, [wo.id for wos in groups.values() for wo in wos])
    outcomes: list[RoutingOutcome] = []
    for wos in groups.values():
        order = wos[0].line.order
        point = destination(order.ship_to)
        demands = {wo.id: demand_of(wo, point) for wo in wos}
        excluded = {site: why for wo in wos for site, why in history.excluded.get(wo.id, {}).items()}
        decisions = ctx.router.route_order(list(demands.values()), order.allow_split, now, excluded)
        by_id = {wo.id: wo for wo in wos}
        for decision in decisions:
            outcomes.append(_record(uow, ctx, decision, by_id, demands, history, now, actor))
        if progress is not None:
            progress(len(wos))
    uow.session.flush()
    return outcomes


def _released_groups(uow: UnitOfWork, ids: Sequence[str] | None) -> dict[str, list[WorkOrderRow]]:
    """Released work orders by order, claimed: locked (`SKIP LOCKED`) and re-read under the lock.

    A work order another transaction holds (a cancel, a store edit) is left for the next run.
    """
    query = (
        select(WorkOrderRow)
        .where(WorkOrderRow.status == WorkOrderStatus.RELEASED.value)
        .options(  # the order's lines too: moving a line derives the order's status
            selectinload(WorkOrderRow.line).selectinload(OrderLineRow.order).selectinload(OrderRow.lines)
        )
        .order_by(WorkOrderRow.created_at, WorkOrderRow.id)
        .with_for_update(of=WorkOrderRow, skip_locked=True)
        .execution_options(populate_existing=True)
    )
    if ids is not None:
        named = list(uow.session.scalars(query.where(WorkOrderRow.id.in_(ids))))
        whole = [wo.line.order_id for wo in named if not wo.line.order.allow_split]
        if whole:
            siblings = query.join(OrderLineRow).where(OrderLineRow.order_id.in_(whole))
            named += [wo for wo in uow.session.scalars(siblings) if wo not in named]
        work_orders = named
    else:
        work_orders = list(uow.session.scalars(query))
    groups: dict[str, list[WorkOrderRow]] = {}
    for wo in sorted(work_orders, key=lambda w: (w.line.order.created_at, w.line.order_id, w.line.position)):
        groups.setdefault(wo.line.order_id, []).append(wo)
    return groups


def _claim_orders(uow: UnitOfWork, groups: dict[str, list[WorkOrderRow]]) -> dict[str, list[WorkOrderRow]]:
    """Keep the groups whose order this transaction could lock without waiting (`claim_orders`).

    Routing moves the order's status, and a cancel or a store edit holds the order's row while it
    changes its lines: their work is routed on the next run, when they have committed.
    """
    locked = order_service.claim_orders(uow, list(groups))
    return {order_id: wos for order_id, wos in groups.items() if order_id in locked}


@dataclass
class _History:
    excluded: dict[str, dict[str, str]] = field(default_factory=dict)  # work order -> site -> why
    first_delivery: dict[str, datetime] = field(default_factory=dict)


def _history(uow: UnitOfWork, ids: Sequence[str]) -> _History:
    """Sites that declined or let an offer expire, and the first delivery date promised."""
    history = _History()
    if not ids:
        return history
    for row in uow.session.scalars(select(AssignmentRow).where(AssignmentRow.work_order_id.in_(ids))):
        if row.status in WITHDRAWN:
            why = f"{row.status}: {row.reason}"
            history.excluded.setdefault(row.work_order_id, {})[row.site] = why
        first = row.first_promised_delivery_at
        known = history.first_delivery.get(row.work_order_id)
        if first is not None and (known is None or first < known):
            history.first_delivery[row.work_order_id] = first
    return history


def _record(
    uow: UnitOfWork,
    ctx: Current,
    decision: RoutingDecision,
    work_orders: Mapping[str, WorkOrderRow],
    demands: Mapping[str, Demand],
    history: _History,
    now: datetime,
    actor: str,
) -> RoutingOutcome:
    explanation = decision.as_dict()
    ids = list(decision.demand.work_order_ids)
    outcome = RoutingOutcome(ids, decision.site, decision.central, explanation)
    winner = decision.winner
    if decision.site is None or winner is None:
        for wid in ids:
            unroutable = AssignmentStatus.UNROUTABLE
            outcome.assignments.append(_assignment(uow, ctx, work_orders[wid], "", unroutable, explanation))
            released = WorkOrderStatus.RELEASED.value  # a note: the work order stays released
            audit.record(uow, "work_order", wid, released, released, explanation["summary"], actor)
        return outcome
    site = ctx.network.sites[decision.site]
    state = ctx.router.states[site.id]
    calendar = site_calendar(ctx.network, state, site.id)
    ship = promise(site, ctx.network.partner_of(site), now, winner.work_minutes, winner.distance_km, calendar)
    group = work_orders[ids[0]].line.order_id if len(ids) > 1 else ids[0]
    for wid in ids:
        work_order, demand = work_orders[wid], demands[wid]
        first_status = AssignmentStatus.ACCEPTED if site.is_central else AssignmentStatus.OFFERED
        row = _assignment(uow, ctx, work_order, site.id, first_status, explanation)
        row.group_id = group
        row.central = site.is_central
        row.minutes = dict(demand.minutes)
        row.distance_km = winner.distance_km
        row.deadline = None if site.is_central else now + timedelta(minutes=site.accept_within_minutes)
        row.decided_by = "central: quoted lead time" if site.is_central else None
        first = history.first_delivery.get(wid)
        set_promise(row, ship, first)
        if not site.is_central:
            for part, qty in demand.parts.items():
                uow.session.add(ReservationRow(assignment_id=row.id, site=site.id, part=part, qty=qty))
        transitions.move_work(
            uow,
            work_order,
            WorkOrderStatus.ASSIGNED,
            reason=explanation["summary"],
            actor=actor,
            site=site.id,
        )
        outcome.assignments.append(row)
    return outcome


def _assignment(
    uow: UnitOfWork,
    ctx: Current,
    work_order: WorkOrderRow,
    site: str,
    status: AssignmentStatus,
    explanation: dict[str, Any],
) -> AssignmentRow:
    """A new assignment in one of `lifecycle.ASSIGNMENT_INITIAL` (offered, accepted, unroutable)."""
    row = AssignmentRow(
        id=new_id("asg"),
        work_order_id=work_order.id,
        order_id=work_order.line.order_id,
        group_id=work_order.id,
        network=ctx.row.name,
        site=site,
        central=False,
        status=status.value,
        minutes={},
        explanation=explanation,
        slipped=False,
        reason="",
    )
    uow.session.add(row)
    return row


def set_promise(row: AssignmentRow, ship: Promise, first_delivery: datetime | None = None) -> bool:
    """Write a promise on an assignment; True when it slipped past the first promise made."""
    row.promised_ship_at = ship.ship_at
    row.promised_delivery_at = ship.delivery_at
    row.promised_ship_date = ship.ship_date.isoformat()
    row.promised_delivery_date = ship.delivery_date.isoformat()
    first = first_delivery or row.first_promised_delivery_at
    if first is None:
        row.first_promised_delivery_at = ship.delivery_at
        return False
    row.first_promised_delivery_at = first
    slipped = ship.delivery_at.date() > first.date()
    newly = slipped and not row.slipped
    row.slipped = slipped
    return newly


def update_promise(uow: UnitOfWork, row: AssignmentRow, ship: Promise, actor: str) -> bool:
    """Promise again; a delivery later than the first promise is flagged and audited (True)."""
    before = row.promised_delivery_date
    if not set_promise(row, ship):
        return False
    first = row.first_promised_delivery_at.date() if row.first_promised_delivery_at else before
    reason = f"delivery now {row.promised_delivery_date}, first promised {first}"
    audit.record(uow, "work_order", row.work_order_id, "promise_slipped", None, reason, actor)
    return True


def get_assignment(uow: UnitOfWork, assignment_id: str, *, lock: bool = False) -> AssignmentRow:
    """An assignment; with `lock`, its row locked (`FOR UPDATE`) and re-read, to change it safely."""
    if lock:
        row = uow.session.get(AssignmentRow, assignment_id, with_for_update=True, populate_existing=True)
    else:
        row = uow.session.get(AssignmentRow, assignment_id)
    if row is None:
        raise NotFound("assignment", assignment_id, f"no assignment {assignment_id}")
    return row


def accept(uow: UnitOfWork, assignment_id: str, actor: str = "site") -> AssignmentRow:
    """The site takes the work. A late yes still counts while the offer has not been withdrawn.

    The assignment's row is locked and re-read first: an expiry or a cancel committed meanwhile
    turns the yes into a conflict instead of being overwritten by it. The order is locked before
    it, in the order every writer of an order's work takes its locks.
    """
    _lock_order_of(uow, assignment_id)
    row = get_assignment(uow, assignment_id, lock=True)
    try:
        accepted = transitions.move_assignment(
            uow, row, AssignmentStatus.ACCEPTED, reason=f"{row.site} accepted", actor=actor
        )
    except IllegalTransition as error:
        raise AssignmentConflict(f"{error}: only an offered one can be accepted") from error
    if accepted:
        row.decided_by = actor
    return row


def decline(
    uow: UnitOfWork, assignment_id: str, reason: str, actor: str = "site", now: datetime | None = None
) -> list[RoutingOutcome]:
    """The site says no, with a reason: the work goes to the next best site that has not said no.

    The order is locked first (the order the store sync and a cancel lock in), then the assignment,
    whose status is re-read under its lock; the re-routing waits for the routing lock.
    """
    locks.become_writer(uow.session)
    _lock_order_of(uow, assignment_id)
    row = get_assignment(uow, assignment_id, lock=True)
    if row.status not in ACTIVE:
        raise AssignmentConflict(
            f"assignment {row.id} is {row.status}; it cannot become declined (only an active one can)"
        )
    if row.central:
        raise AssignmentConflict("the central factory's assignments are contracts; cancel the order instead")
    ids = withdraw(uow, [row], AssignmentStatus.DECLINED, reason or "no reason given", actor, now)
    return route_work_orders(uow, ids, now=now, actor=actor)


def expire_overdue(
    uow: UnitOfWork, now: datetime | None = None, actor: str = "system"
) -> list[RoutingOutcome]:
    """Offers not answered by their deadline pass to the next best site.

    Runs under the routing lock, so it never waits for a row: offers (and orders) another
    transaction holds, an accept or a cancel in progress, are skipped and looked at next time.
    """
    now = now or utcnow()
    locks.hold(uow.session, locks.ROUTING)
    overdue = list(
        uow.session.scalars(
            select(AssignmentRow)
            .where(AssignmentRow.status == AssignmentStatus.OFFERED.value, AssignmentRow.deadline < now)
            .order_by(AssignmentRow.deadline, AssignmentRow.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )
    held = order_service.claim_orders(uow, {row.order_id for row in overdue})
    overdue = [row for row in overdue if row.order_id in held]
    if not overdue:
        return []
    ids: list[str] = []
    for row in overdue:
        if row.status == AssignmentStatus.OFFERED:  # a sibling withdrawn earlier in this loop is done
            deadline = row.deadline.isoformat(timespec="minutes") if row.deadline else "the deadline"
            ids += withdraw(uow, [row], AssignmentStatus.EXPIRED, f"no answer by {deadline}", actor, now)
    return route_work_orders(uow, ids, now=now, actor=actor)


def is_movable(work_order: WorkOrderRow) -> bool:
    """Work that may go to another site: assigned, and neither started nor shipped (by override)."""
    return work_order.status == WorkOrderStatus.ASSIGNED.value and not has_work_started(
        LineStatus(work_order.line.status), WorkOrderStatus(work_order.status)
    )


def _lock_order_of(uow: UnitOfWork, assignment_id: str) -> None:
    """Lock the order an assignment belongs to (PostgreSQL `FOR UPDATE`; waits for its holder)."""
    order_id = uow.session.scalar(select(AssignmentRow.order_id).where(AssignmentRow.id == assignment_id))
    if order_id is not None:
        uow.session.execute(select(OrderRow.id).where(OrderRow.id == order_id).with_for_update())


def withdraw(
    uow: UnitOfWork,
    rows: Sequence[AssignmentRow],
    status: AssignmentStatus,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> list[str]:
    """End assignments (and those of their group at the same site) and put the work back to released.

    Returns the work order ids, ready to be routed again.
    """
    now = now or utcnow()
    ids: list[str] = []
    for row in rows:
        group = uow.session.scalars(
            select(AssignmentRow).where(
                AssignmentRow.group_id == row.group_id,
                AssignmentRow.site == row.site,
                AssignmentRow.status.in_(ACTIVE),
                AssignmentRow.id != row.id,
            )
        )
        for ended, why in [(row, reason), *((g, f"moved with {row.work_order_id}: {reason}") for g in group)]:
            end_assignment(uow, ended, status if ended is row else AssignmentStatus.RELEASED, why, actor, now)
            work_order = uow.session.get(WorkOrderRow, ended.work_order_id)
            if work_order is not None and is_movable(work_order):
                transitions.move_work(
                    uow, work_order, WorkOrderStatus.RELEASED, reason=why, actor=actor, site=None
                )
                ids.append(work_order.id)
    uow.session.flush()
    return ids


def end_assignment(
    uow: UnitOfWork,
    row: AssignmentRow,
    status: AssignmentStatus,
    reason: str,
    actor: str,
    now: datetime | None = None,
) -> None:
    """Close an assignment and release its parts."""
    transitions.move_assignment(uow, row, status, reason=reason, actor=actor)
    row.reason = reason
    row.decided_by = actor
    uow.session.execute(
        update(ReservationRow)
        .where(ReservationRow.assignment_id == row.id, ReservationRow.released_at.is_(None))
        .values(released_at=now or utcnow())
    )


def movable_assignments(uow: UnitOfWork, network: str, site_id: str) -> list[AssignmentRow]:
    """Work offered to or accepted by a site that has neither started nor shipped: it may still move."""
    rows = active_assignments(uow, network, site_id)
    ids = [row.work_order_id for row in rows]
    query = select(WorkOrderRow).where(WorkOrderRow.id.in_(ids)).options(selectinload(WorkOrderRow.line))
    free = {wo.id for wo in uow.session.scalars(query) if is_movable(wo)}
    return [row for row in rows if row.work_order_id in free]


def cannot_make(uow: UnitOfWork, ctx: Current, site_id: str, rows: Sequence[AssignmentRow]) -> dict[str, str]:
    """Why the site can no longer make each assignment's work (machines down or gone), by assignment."""
    reasons: dict[str, str] = {}
    for row in rows:
        work_order = uow.session.get(WorkOrderRow, row.work_order_id)
        assert work_order is not None  # a foreign key
        why = ctx.router.equipment_reasons(site_id, demand_of(work_order, None))
        if why:
            reasons[row.id] = "; ".join(why)
    return reasons


def reroute(
    uow: UnitOfWork,
    rows: Sequence[AssignmentRow],
    reasons: Mapping[str, str],
    now: datetime,
    actor: str,
) -> list[RoutingOutcome]:
    """Withdraw the assignments (with the reason each must move) and route their work again.

    Only orders this transaction can lock without waiting are moved (`claim_orders`); an order
    another transaction holds is left for the next round (decision 0009).
    """
    ids: list[str] = []
    claimed = order_service.claim_orders(uow, {row.order_id for row in rows})
    for row in rows:
        if row.order_id not in claimed:
            continue
        uow.session.refresh(row)  # as committed by whoever held the order before us
        if row.status in ACTIVE:  # a sibling withdrawn earlier in this loop is already done
            ids += withdraw(
                uow, [row], AssignmentStatus.RELEASED, f"re-routed: {reasons[row.id]}", actor, now
            )
    return route_work_orders(uow, ids, now=now, actor=actor) if ids else []


def release_work_order(uow: UnitOfWork, work_order_id: str, reason: str, actor: str = "system") -> int:
    """A cancelled work order leaves its site's queue and gives its parts back; returns how many."""
    rows = list(
        uow.session.scalars(
            select(AssignmentRow).where(
                AssignmentRow.work_order_id == work_order_id, AssignmentRow.status.in_(ACTIVE)
            )
        )
    )
    for row in rows:
        end_assignment(uow, row, AssignmentStatus.RELEASED, reason, actor)
    return len(rows)


def reserved(uow: UnitOfWork, site: str) -> dict[str, Decimal]:
    """Parts held for open work at a site."""
    totals: dict[str, Decimal] = {}
    for row in uow.session.scalars(
        select(ReservationRow).where(ReservationRow.site == site, ReservationRow.released_at.is_(None))
    ):
        totals[row.part] = totals.get(row.part, Decimal(0)) + row.qty
    return totals
