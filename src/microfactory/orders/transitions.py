"""The one owner that changes the status of an order line, a work order or an assignment.

Every capability that moves one of them (orders, network, scheduling, the store channels, and next
production, quality and logistics) calls these functions and never writes the status itself. Each
move is checked against the tables in `orders.lifecycle` (an illegal one raises `IllegalTransition`,
a `Conflict`, before anything changes), audited with its reason and actor, followed by the order's
derived status, and published as a domain event where one exists: `WorkOrderReleased` for a new
work order, `WorkOrderCancelled`, and `DecisionNeeded` when a line with started work waits for a
person. Moving a row to the state it is already in is a no-op: nothing is written, audited or
published, and the function answers False.

The rows are the ones the caller loaded in its unit of work; the caller's transaction (and the
claim or lock it took to load them) is what keeps two processes from moving the same row at once.
"""

from __future__ import annotations

from enum import Enum

from microfactory.db.tables.network import AssignmentRow
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import audit, events
from microfactory.orders.lifecycle import (
    LINE_FOLLOWS,
    AssignmentStatus,
    LineStatus,
    WorkOrderStatus,
    check_move,
    check_override,
    derive_order_status,
)


class _Keep(Enum):
    SITE = "keep"


KEEP_SITE = _Keep.SITE  # `move_work(site=...)` default: the work stays where it is


def begin_line(uow: UnitOfWork, line: OrderLineRow, to: LineStatus, *, reason: str, actor: str) -> None:
    """Give a new line its first status (needs attention, released, fulfilment only), audited.

    The order's status is derived once all its lines exist (`refresh_order_status`), not per line,
    so that its history starts with one entry.
    """
    check_move(line.id, None, to)
    line.status = to.value
    audit.record(uow, "line", line.id, to.value, None, reason, actor)


def begin_work_order(
    uow: UnitOfWork, work_order: WorkOrderRow, order_id: str, *, reason: str, actor: str
) -> None:
    """Release a new work order: audited, added to the session, and `WorkOrderReleased` published."""
    check_move(work_order.id, None, WorkOrderStatus.RELEASED)
    work_order.status = WorkOrderStatus.RELEASED.value
    audit.record(uow, "work_order", work_order.id, work_order.status, None, reason, actor)
    uow.session.add(work_order)
    events.publish(uow, events.WorkOrderReleased(work_order.id, order_id))


def move_line(
    uow: UnitOfWork,
    line: OrderLineRow,
    to: LineStatus,
    *,
    reason: str,
    actor: str,
    refresh_order: bool = True,
) -> bool:
    """Move a line, audit it and derive its order's status; False when it already was there.

    A use case that moves several lines of one order passes `refresh_order=False` and calls
    `refresh_order_status` once at the end, so the order's history shows one change, not the
    states in between. A line that comes to need a decision publishes `DecisionNeeded`.
    """
    before = LineStatus(line.status)
    if before == to:
        return False
    check_move(line.id, before, to)
    line.status = to.value
    audit.record(uow, "line", line.id, to.value, before.value, reason, actor)
    if to == LineStatus.DECISION_NEEDED and line.work_order is not None:
        events.publish(uow, events.DecisionNeeded(line.work_order.id, line.order_id, reason))
    if refresh_order and line.order is not None:
        refresh_order_status(uow, line.order, reason=reason, actor=actor)
    return True


def override_line(
    uow: UnitOfWork, line: OrderLineRow, to: LineStatus, *, reason: str, actor: str, override: str
) -> bool:
    """A person moves a line where the work has not got to (`lifecycle.LINE_OVERRIDES`), audited.

    Used when a parcel ships before its work order is made; the override's reason is in the audit.
    """
    before = LineStatus(line.status)
    if before == to:
        return False
    check_override(line.id, before, to)
    line.status = to.value
    audit.record(uow, "line", line.id, to.value, before.value, f"{reason}; override: {override}", actor)
    return True


def move_work_order(
    uow: UnitOfWork, work_order: WorkOrderRow, to: WorkOrderStatus, *, reason: str, actor: str
) -> bool:
    """Move a work order alone and audit it; a cancelled one publishes `WorkOrderCancelled`.

    Most callers want `move_work`, which brings the line along.
    """
    before = WorkOrderStatus(work_order.status)
    if before == to:
        return False
    check_move(work_order.id, before, to)
    audit.record(uow, "work_order", work_order.id, to.value, before.value, reason, actor)
    work_order.status = to.value
    if to == WorkOrderStatus.CANCELLED:
        events.publish(uow, events.WorkOrderCancelled(work_order.id, work_order.line.order_id, reason))
    return True


def move_work(
    uow: UnitOfWork,
    work_order: WorkOrderRow,
    to: WorkOrderStatus,
    *,
    reason: str,
    actor: str,
    site: str | _Keep | None = KEEP_SITE,
) -> bool:
    """Move a work order and its line with it (`lifecycle.LINE_FOLLOWS`), and say where it is made.

    Both moves are checked before either is written. A line waiting for a person's decision stays
    so: the decision, not the work, moves it on. Returns whether the work order moved.
    """
    line = work_order.line
    line_to = LINE_FOLLOWS.get(to)
    follows = line_to is not None and line.status != LineStatus.DECISION_NEEDED.value
    check_move(work_order.id, WorkOrderStatus(work_order.status), to)
    if follows and line_to is not None:
        check_move(line.id, LineStatus(line.status), line_to)
    moved = move_work_order(uow, work_order, to, reason=reason, actor=actor)
    if follows and line_to is not None:
        move_line(uow, line, line_to, reason=reason, actor=actor)
    if not isinstance(site, _Keep):
        work_order.site = site
        line.site = site
    return moved


def move_assignment(
    uow: UnitOfWork, row: AssignmentRow, to: AssignmentStatus, *, reason: str, actor: str
) -> bool:
    """Move an assignment (offered → accepted, declined, expired, released) and audit it."""
    before = AssignmentStatus(row.status)
    if before == to:
        return False
    check_move(row.id, before, to)
    row.status = to.value
    audit.record(uow, "assignment", row.id, to.value, before.value, reason, actor)
    return True


def refresh_order_status(uow: UnitOfWork, order: OrderRow, *, reason: str, actor: str = "system") -> None:
    """Set the order's status to what its lines say (`derive_order_status`), audited when it changes."""
    status = derive_order_status(LineStatus(line.status) for line in order.lines).value
    if status != order.status:
        audit.record(uow, "order", order.id, status, order.status or None, reason, actor)
        order.status = status
