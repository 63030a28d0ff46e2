"""A parcel leaves: its order lines move to shipped, through `orders.transitions`.

Only made work ships: a line whose work order is made goes made → packed → shipped; a line that
needs no making (fulfilment only) ships at once. Made work whose unit failed inspection (or waits
for a person's verdict) does not count as made until it passes or a person accepts it as is
(`quality.dispositions.blocked_units`); a work order held by quality is not made at all. A line whose work is not made is refused
(`NotMade`, naming each line and where its work stands) unless a person gives an override reason,
which moves it straight to shipped (`transitions.override_line`) with the reason in its audit;
work on it that nobody started is cancelled then (its assignment ends, its parts go back), so
shipped work is never routed, planned or promised again (`network.service.withdraw` also leaves
started and shipped work alone).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from microfactory.db.tables.orders import OrderLineRow, OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.orders import service, transitions
from microfactory.orders.lifecycle import LineStatus, WorkOrderStatus
from microfactory.quality.dispositions import blocked_units

GONE = frozenset({LineStatus.SHIPPED.value, LineStatus.DELIVERED.value, LineStatus.CANCELLED.value})
READY = frozenset({LineStatus.MADE.value, LineStatus.PACKED.value, LineStatus.FULFILMENT_ONLY.value})
UNSTARTED_WORK = frozenset(
    {WorkOrderStatus.RELEASED.value, WorkOrderStatus.ASSIGNED.value, WorkOrderStatus.SCHEDULED.value}
)


class NotMade(Conflict):
    """A parcel names work that is not made yet, and no one gave an override reason."""


def ship_lines(
    uow: UnitOfWork,
    order: OrderRow,
    parcel_lines: Sequence[dict[str, Any]] | None,
    shipment: str,
    override_reason: str | None,
    actor: str,
) -> list[OrderLineRow]:
    """Move the parcel's lines (all lines still open when it names none) to shipped; checked first."""
    named = None if parcel_lines is None else {entry["line_id"] for entry in parcel_lines}
    lines = [line for line in order.lines if line.status not in GONE and (named is None or line.id in named)]
    blocked = {line.id: _blocked(uow, line) for line in lines}
    waiting = [line for line in lines if not _ready(line) or blocked[line.id]]
    if waiting and override_reason is None:
        shown = "; ".join(_where(line, blocked[line.id]) for line in waiting)
        raise NotMade(
            f"order {order.id} has work that is not made: {shown} (give an override reason to ship it anyway)"
        )
    reason = f"shipped in parcel {shipment}"
    for line in lines:
        if _ready(line) and not blocked[line.id]:
            if line.status == LineStatus.MADE.value:
                transitions.move_line(
                    uow, line, LineStatus.PACKED, reason=reason, actor=actor, refresh_order=False
                )
            transitions.move_line(
                uow, line, LineStatus.SHIPPED, reason=reason, actor=actor, refresh_order=False
            )
        else:
            transitions.override_line(
                uow, line, LineStatus.SHIPPED, reason=reason, actor=actor, override=override_reason or ""
            )
            _end_unstarted_work(uow, line, reason, override_reason or "", actor)
    service.refresh_status(uow, order, reason=reason, actor=actor)
    return lines


def _end_unstarted_work(uow: UnitOfWork, line: OrderLineRow, reason: str, override: str, actor: str) -> None:
    """A line that shipped without its work no longer needs work nobody has started: its work order
    is cancelled (audited with the override), which ends its assignment and gives its parts back, so
    no site is offered, plans or promises it again. It keeps its site, as a record of where it was.
    Started work is left alone: the site is making it, and a person decides what becomes of it.
    """
    work_order = line.work_order
    if work_order is None or work_order.status not in UNSTARTED_WORK:
        return
    why = f"{reason} before it was made; override: {override}"
    transitions.move_work_order(uow, work_order, WorkOrderStatus.CANCELLED, reason=why, actor=actor)


def _ready(line: OrderLineRow) -> bool:
    """Made work (line made or packed, its work order made) and lines that need no making."""
    if line.status == LineStatus.FULFILMENT_ONLY.value:
        return True
    work_order = line.work_order
    made = work_order is not None and work_order.status == WorkOrderStatus.MADE.value
    return made and line.status in READY


def _blocked(uow: UnitOfWork, line: OrderLineRow) -> list[str]:
    """The line's units that failed inspection and no one accepted (empty for lines not made)."""
    work_order = line.work_order
    if work_order is None or work_order.status != WorkOrderStatus.MADE.value:
        return []
    return blocked_units(uow, work_order.id)


def _where(line: OrderLineRow, blocked: list[str]) -> str:
    work_order = line.work_order
    if work_order is None:
        return f"line {line.id} is {line.status} and has no work order"
    if blocked:
        return f"line {line.id}: {', '.join(blocked)} (inspect it again or dispose its NCR)"
    return f"line {line.id} is {line.status}, work order {work_order.id} is {work_order.status}"
