"""The life of an order line, a work order and an assignment, as data: one place for every rule.

Each entity has a status enum and a table of the moves it may make; `can_move` reads the table and
`check_move` refuses an illegal one with a `Conflict` that names the thing and the move. The order's
own status is never set: `derive_order_status` computes it from its lines. Two rules that several
capabilities ask about live here too: `has_work_started` (the point after which nothing is thrown
away without a person deciding) and `cancellation_verdict` (what a cancellation does to a line).

Pure: no database, no HTTP. `orders.transitions` is the one service that applies these moves to
storage; production, quality and logistics will call it with the states already listed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, TypeVar

from microfactory.errors import Conflict


class OrderStatus(StrEnum):
    ACCEPTED = "accepted"  # every line has a work order or needs no manufacturing
    NEEDS_ATTENTION = "needs_attention"  # at least one line waits for a correction
    IN_PRODUCTION = "in_production"
    FULFILLED = "fulfilled"
    DECISION_NEEDED = "decision_needed"  # cancelled in the store while work had started
    CANCELLED = "cancelled"


class LineStatus(StrEnum):
    NEEDS_ATTENTION = "needs_attention"
    RELEASED = "released"  # a work order exists, waiting for a site
    ROUTED = "routed"
    SCHEDULED = "scheduled"
    IN_PRODUCTION = "in_production"
    MADE = "made"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    FULFILMENT_ONLY = "fulfilment_only"  # not manufactured: gift cards, stocked goods
    DECISION_NEEDED = "decision_needed"
    CANCELLED = "cancelled"


class WorkOrderStatus(StrEnum):
    RELEASED = "released"
    ASSIGNED = "assigned"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    MADE = "made"
    HELD = "held"  # quality holds it: neither shipped nor scrapped until someone looks
    REWORK = "rework"
    SCRAPPED = "scrapped"
    CANCELLED = "cancelled"


class AssignmentStatus(StrEnum):
    OFFERED = "offered"  # waiting for the site's yes, until its deadline
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    RELEASED = "released"  # moved elsewhere or cancelled: its parts are given back
    UNROUTABLE = "unroutable"  # a record that no site could make it


L, W, A = LineStatus, WorkOrderStatus, AssignmentStatus

# A line whose work order has started (even before the line caught up) waits for a decision when
# the store cancels or edits it; the decision cancels it or puts it back where its work stands.
_DECIDE = L.DECISION_NEEDED
LINE_TRANSITIONS: Mapping[LineStatus, frozenset[LineStatus]] = {
    L.NEEDS_ATTENTION: frozenset({L.RELEASED, L.CANCELLED}),
    L.RELEASED: frozenset({L.ROUTED, L.CANCELLED, _DECIDE}),
    L.ROUTED: frozenset({L.RELEASED, L.SCHEDULED, L.IN_PRODUCTION, L.CANCELLED, _DECIDE}),
    L.SCHEDULED: frozenset({L.RELEASED, L.IN_PRODUCTION, L.CANCELLED, _DECIDE}),
    L.IN_PRODUCTION: frozenset({L.MADE, L.RELEASED, _DECIDE}),  # released: scrapped, made again
    L.MADE: frozenset({L.PACKED, L.IN_PRODUCTION, L.RELEASED, _DECIDE}),  # rework, scrap
    L.PACKED: frozenset({L.SHIPPED, _DECIDE}),
    L.SHIPPED: frozenset({L.DELIVERED}),
    L.DELIVERED: frozenset(),
    L.FULFILMENT_ONLY: frozenset({L.SHIPPED, L.CANCELLED}),
    L.DECISION_NEEDED: frozenset(
        {L.CANCELLED, L.RELEASED, L.ROUTED, L.SCHEDULED, L.IN_PRODUCTION, L.MADE, L.PACKED}
    ),
    L.CANCELLED: frozenset(),
}

WORK_ORDER_TRANSITIONS: Mapping[WorkOrderStatus, frozenset[WorkOrderStatus]] = {
    W.RELEASED: frozenset({W.ASSIGNED, W.CANCELLED}),
    W.ASSIGNED: frozenset({W.RELEASED, W.SCHEDULED, W.IN_PROGRESS, W.CANCELLED}),
    W.SCHEDULED: frozenset({W.RELEASED, W.IN_PROGRESS, W.CANCELLED}),
    # started work is cancelled only by a person's decision (see `cancellation_verdict`)
    W.IN_PROGRESS: frozenset({W.MADE, W.HELD, W.SCRAPPED, W.CANCELLED}),
    W.MADE: frozenset({W.HELD, W.REWORK, W.SCRAPPED, W.CANCELLED}),
    W.HELD: frozenset({W.MADE, W.REWORK, W.SCRAPPED, W.CANCELLED}),
    W.REWORK: frozenset({W.IN_PROGRESS, W.MADE, W.SCRAPPED, W.CANCELLED}),
    W.SCRAPPED: frozenset({W.RELEASED, W.CANCELLED}),  # released: made again (one work order per line)
    W.CANCELLED: frozenset(),
}

ASSIGNMENT_TRANSITIONS: Mapping[AssignmentStatus, frozenset[AssignmentStatus]] = {
    A.OFFERED: frozenset({A.ACCEPTED, A.DECLINED, A.EXPIRED, A.RELEASED}),
    A.ACCEPTED: frozenset({A.DECLINED, A.RELEASED}),
    A.DECLINED: frozenset(),
    A.EXPIRED: frozenset(),
    A.RELEASED: frozenset(),
    A.UNROUTABLE: frozenset(),
}

# Moves only a person's override (with its reason, audited) makes: a parcel that left before its
# work order was made (made elsewhere, taken from stock). Never the way work normally goes.
LINE_OVERRIDES: Mapping[LineStatus, frozenset[LineStatus]] = {
    L.SHIPPED: frozenset({L.RELEASED, L.ROUTED, L.SCHEDULED, L.IN_PRODUCTION, L.MADE}),
}

# The states a new row may be created in.
LINE_INITIAL = frozenset({L.NEEDS_ATTENTION, L.RELEASED, L.FULFILMENT_ONLY})
WORK_ORDER_INITIAL = frozenset({W.RELEASED})
ASSIGNMENT_INITIAL = frozenset({A.OFFERED, A.ACCEPTED, A.UNROUTABLE})  # central work is accepted at once

# The line follows its work order through routing, scheduling and making; quality's states
# (held, rework, scrapped) leave the line where it is until the work order moves on.
LINE_FOLLOWS: Mapping[WorkOrderStatus, LineStatus] = {
    W.RELEASED: L.RELEASED,
    W.ASSIGNED: L.ROUTED,
    W.SCHEDULED: L.SCHEDULED,
    W.IN_PROGRESS: L.IN_PRODUCTION,
    W.MADE: L.MADE,
}

STARTED_WORK = frozenset({W.IN_PROGRESS, W.MADE, W.HELD, W.REWORK, W.SCRAPPED})
STARTED_LINE = frozenset({L.IN_PRODUCTION, L.MADE, L.PACKED, L.SHIPPED, L.DELIVERED, L.DECISION_NEEDED})
OPEN_LINE = frozenset({L.NEEDS_ATTENTION, L.RELEASED, L.ROUTED, L.SCHEDULED})
LINE_DONE = frozenset({L.SHIPPED, L.DELIVERED, L.FULFILMENT_ONLY, L.CANCELLED})
ACTIVE_ASSIGNMENT = frozenset({A.OFFERED, A.ACCEPTED})
OPEN_WORK = frozenset({W.ASSIGNED, W.SCHEDULED, W.IN_PROGRESS})  # work a site holds in its queue

Status = TypeVar("Status", LineStatus, WorkOrderStatus, AssignmentStatus)

_TABLES: dict[type[StrEnum], Mapping[Any, frozenset[Any]]] = {  # Mapping is invariant in its key
    LineStatus: LINE_TRANSITIONS,
    WorkOrderStatus: WORK_ORDER_TRANSITIONS,
    AssignmentStatus: ASSIGNMENT_TRANSITIONS,
}
_INITIAL: dict[type[StrEnum], frozenset[StrEnum]] = {
    LineStatus: LINE_INITIAL,
    WorkOrderStatus: WORK_ORDER_INITIAL,
    AssignmentStatus: ASSIGNMENT_INITIAL,
}
ENTITY_NAMES: dict[type[StrEnum], str] = {
    LineStatus: "order line",
    WorkOrderStatus: "work order",
    AssignmentStatus: "assignment",
}


class IllegalTransition(Conflict):
    """A move the lifecycle table does not allow; names the entity, its id, from and to."""

    def __init__(self, entity: str, entity_id: str, from_status: str | None, to_status: str) -> None:
        if from_status is None:
            message = f"a new {entity} {entity_id} cannot start as {to_status}"
        else:
            message = f"{entity} {entity_id} is {from_status}; it cannot become {to_status}"
        super().__init__(message)
        self.entity = entity
        self.entity_id = entity_id
        self.from_status = from_status
        self.to_status = to_status


def can_move(from_status: Status | None, to_status: Status) -> bool:
    """Whether the table allows the move; `None` as the origin asks whether a new row may start so.

    Staying in the same state is always allowed: applying a move twice is a no-op, not an error.
    """
    kind = type(to_status)
    if from_status is None:
        return to_status in _INITIAL[kind]
    if type(from_status) is not kind:
        return False
    return from_status == to_status or to_status in _TABLES[kind][from_status]


def check_move(entity_id: str, from_status: Status | None, to_status: Status) -> None:
    """Refuse an illegal move with `IllegalTransition` (a `Conflict`) before anything is written."""
    if not can_move(from_status, to_status):
        raise IllegalTransition(ENTITY_NAMES[type(to_status)], entity_id, from_status, to_status)


def check_override(entity_id: str, from_status: LineStatus, to_status: LineStatus) -> None:
    """Refuse a move that neither the table nor an override (`LINE_OVERRIDES`) allows."""
    if not can_move(from_status, to_status) and from_status not in LINE_OVERRIDES.get(to_status, ()):
        raise IllegalTransition(ENTITY_NAMES[LineStatus], entity_id, from_status, to_status)


def has_work_started(line: LineStatus, work_order: WorkOrderStatus | None = None) -> bool:
    """Work has started when the line or its work order has reached a machine (or got further).

    From here on, material and machine time are spent: nothing is cancelled or changed without a
    person deciding.
    """
    return line in STARTED_LINE or (work_order is not None and work_order in STARTED_WORK)


class CancellationVerdict(StrEnum):
    """What cancelling (or editing away) a line does to it."""

    CANCEL_NOW = "cancel_now"  # nothing is spent yet: the line and its work order are cancelled
    DECIDE = "decide"  # work has started: the line waits for a person's decision
    ALREADY_DONE = "already_done"  # cancelled or gone to the customer: nothing to do


def cancellation_verdict(line: LineStatus, work_order: WorkOrderStatus | None = None) -> CancellationVerdict:
    """The one rule every cancellation path follows (store cancellation, line edit, fulfillment service)."""
    if line in (L.CANCELLED, L.SHIPPED, L.DELIVERED):
        return CancellationVerdict.ALREADY_DONE
    if has_work_started(line, work_order):
        return CancellationVerdict.DECIDE
    return CancellationVerdict.CANCEL_NOW


def derive_order_status(lines: Iterable[LineStatus]) -> OrderStatus:
    """The order's status follows from its lines' statuses; it is never set independently.

    A person's decision comes first, then a correction; an order whose lines are all gone to the
    customer (or cancelled, or need no making) is fulfilled; once any line has started it is in
    production until then.
    """
    statuses = list(lines)
    if statuses and all(status == L.CANCELLED for status in statuses):
        return OrderStatus.CANCELLED
    if L.DECISION_NEEDED in statuses:
        return OrderStatus.DECISION_NEEDED
    if L.NEEDS_ATTENTION in statuses:
        return OrderStatus.NEEDS_ATTENTION
    if statuses and all(status in LINE_DONE for status in statuses):
        return OrderStatus.FULFILLED
    if any(status in STARTED_LINE for status in statuses):
        return OrderStatus.IN_PRODUCTION
    return OrderStatus.ACCEPTED
