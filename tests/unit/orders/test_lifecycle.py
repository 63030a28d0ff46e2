"""The lifecycle tables, read as tables: every allowed move, some refused ones, and the two rules."""

from __future__ import annotations

from enum import StrEnum

import pytest

from microfactory.errors import Conflict
from microfactory.orders.lifecycle import (
    ASSIGNMENT_TRANSITIONS,
    LINE_FOLLOWS,
    LINE_TRANSITIONS,
    WORK_ORDER_TRANSITIONS,
    AssignmentStatus,
    CancellationVerdict,
    IllegalTransition,
    LineStatus,
    OrderStatus,
    WorkOrderStatus,
    can_move,
    cancellation_verdict,
    check_move,
    derive_order_status,
    has_work_started,
)

L, W, A = LineStatus, WorkOrderStatus, AssignmentStatus
ALLOWED = [
    pytest.param(source, target, id=f"{type(source).__name__}:{source}->{target}")
    for table in (LINE_TRANSITIONS, WORK_ORDER_TRANSITIONS, ASSIGNMENT_TRANSITIONS)
    for source, targets in table.items()
    for target in sorted(targets)
]


@pytest.mark.parametrize(("source", "target"), ALLOWED)
def test_every_move_in_the_tables_is_allowed(source: StrEnum, target: StrEnum) -> None:
    assert can_move(source, target)  # type: ignore[type-var]
    check_move("x_1", source, target)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (W.CANCELLED, W.ASSIGNED),
        (W.CANCELLED, W.RELEASED),
        (W.RELEASED, W.SCHEDULED),  # routing comes first
        (W.RELEASED, W.IN_PROGRESS),
        (W.IN_PROGRESS, W.RELEASED),  # started work is not put back
        (W.IN_PROGRESS, W.ASSIGNED),
        (W.MADE, W.IN_PROGRESS),  # only through rework
        (L.CANCELLED, L.RELEASED),
        (L.NEEDS_ATTENTION, L.ROUTED),  # a line is corrected before it is routed
        (L.IN_PRODUCTION, L.CANCELLED),  # started work waits for a decision instead
        (L.SHIPPED, L.CANCELLED),
        (L.DELIVERED, L.SHIPPED),
        (L.RELEASED, L.SHIPPED),
        (A.DECLINED, A.ACCEPTED),
        (A.EXPIRED, A.ACCEPTED),
        (A.RELEASED, A.OFFERED),
        (A.ACCEPTED, A.OFFERED),
        (A.ACCEPTED, A.EXPIRED),  # only an offer runs out
        (A.UNROUTABLE, A.ACCEPTED),
    ],
)
def test_illegal_moves_are_refused_with_a_named_conflict(source: StrEnum, target: StrEnum) -> None:
    assert not can_move(source, target)  # type: ignore[type-var]
    with pytest.raises(IllegalTransition) as refused:
        check_move("wo_x", source, target)  # type: ignore[type-var]
    assert isinstance(refused.value, Conflict)
    assert f"wo_x is {source}; it cannot become {target}" in str(refused.value)
    assert (refused.value.from_status, refused.value.to_status) == (source, target)


def test_the_message_names_the_entity() -> None:
    with pytest.raises(IllegalTransition, match=r"^work order wo_x is cancelled; it cannot become assigned$"):
        check_move("wo_x", W.CANCELLED, W.ASSIGNED)
    with pytest.raises(IllegalTransition, match=r"^assignment asg_1 is declined"):
        check_move("asg_1", A.DECLINED, A.ACCEPTED)
    with pytest.raises(IllegalTransition, match=r"^order line line_1 is shipped"):
        check_move("line_1", L.SHIPPED, L.CANCELLED)


@pytest.mark.parametrize("status", [*L, *W, *A])
def test_staying_put_is_allowed_so_that_moves_are_idempotent(status: StrEnum) -> None:
    assert can_move(status, status)  # type: ignore[type-var]


@pytest.mark.parametrize(
    ("first", "allowed"),
    [
        *((status, status in {L.NEEDS_ATTENTION, L.RELEASED, L.FULFILMENT_ONLY}) for status in L),
        *((status, status == W.RELEASED) for status in W),
        *((status, status in {A.OFFERED, A.ACCEPTED, A.UNROUTABLE}) for status in A),
    ],
)
def test_new_rows_start_only_in_their_first_states(first: StrEnum, allowed: bool) -> None:
    assert can_move(None, first) is allowed  # type: ignore[type-var]


def test_statuses_of_different_entities_never_move_into_each_other() -> None:
    assert not can_move(W.RELEASED, L.ROUTED)  # type: ignore[arg-type]


def test_every_state_has_a_row_and_every_target_is_a_state() -> None:
    for kind, table in ((L, LINE_TRANSITIONS), (W, WORK_ORDER_TRANSITIONS), (A, ASSIGNMENT_TRANSITIONS)):
        assert set(table) == set(kind)
        assert all(target in kind for targets in table.values() for target in targets)


@pytest.mark.parametrize(("work", "line"), sorted(LINE_FOLLOWS.items()))
def test_the_line_can_follow_its_work_order(work: WorkOrderStatus, line: LineStatus) -> None:
    """Wherever the work order may come from, its line may come along from the line it had then."""
    for source, targets in WORK_ORDER_TRANSITIONS.items():
        if work in targets and source in LINE_FOLLOWS:
            assert can_move(LINE_FOLLOWS[source], line), (source, work)


@pytest.mark.parametrize(
    ("line", "work", "started"),
    [
        (L.NEEDS_ATTENTION, None, False),
        (L.FULFILMENT_ONLY, None, False),
        (L.RELEASED, W.RELEASED, False),
        (L.ROUTED, W.ASSIGNED, False),
        (L.SCHEDULED, W.SCHEDULED, False),
        (L.CANCELLED, W.CANCELLED, False),
        (L.SCHEDULED, W.IN_PROGRESS, True),  # the machine started before the line caught up
        (L.IN_PRODUCTION, W.IN_PROGRESS, True),
        (L.MADE, W.MADE, True),
        (L.MADE, W.HELD, True),
        (L.IN_PRODUCTION, W.REWORK, True),
        (L.IN_PRODUCTION, W.SCRAPPED, True),
        (L.PACKED, W.MADE, True),
        (L.SHIPPED, W.MADE, True),
        (L.DELIVERED, W.MADE, True),
        (L.DECISION_NEEDED, W.IN_PROGRESS, True),
    ],
)
def test_has_work_started(line: LineStatus, work: WorkOrderStatus | None, started: bool) -> None:
    assert has_work_started(line, work) is started


NOW, DECIDE, DONE = (
    CancellationVerdict.CANCEL_NOW,
    CancellationVerdict.DECIDE,
    CancellationVerdict.ALREADY_DONE,
)


@pytest.mark.parametrize(
    ("line", "work", "verdict"),
    [
        (L.NEEDS_ATTENTION, None, NOW),
        (L.FULFILMENT_ONLY, None, NOW),
        (L.RELEASED, W.RELEASED, NOW),
        (L.ROUTED, W.ASSIGNED, NOW),
        (L.SCHEDULED, W.SCHEDULED, NOW),
        (L.RELEASED, W.IN_PROGRESS, DECIDE),
        (L.IN_PRODUCTION, W.IN_PROGRESS, DECIDE),
        (L.MADE, W.HELD, DECIDE),
        (L.PACKED, W.MADE, DECIDE),
        (L.DECISION_NEEDED, W.IN_PROGRESS, DECIDE),
        (L.CANCELLED, W.CANCELLED, DONE),
        (L.SHIPPED, W.MADE, DONE),
        (L.DELIVERED, W.MADE, DONE),
    ],
)
def test_cancellation_verdict(
    line: LineStatus, work: WorkOrderStatus | None, verdict: CancellationVerdict
) -> None:
    assert cancellation_verdict(line, work) == verdict


@pytest.mark.parametrize("line", list(L))
def test_the_verdict_is_always_a_move_the_table_allows(line: LineStatus) -> None:
    verdict = cancellation_verdict(line)
    if verdict == NOW:
        assert can_move(line, L.CANCELLED)
    elif verdict == DECIDE:
        assert can_move(line, L.DECISION_NEEDED)


@pytest.mark.parametrize(
    ("lines", "status"),
    [
        ([], OrderStatus.ACCEPTED),
        ([L.RELEASED, L.ROUTED], OrderStatus.ACCEPTED),
        ([L.RELEASED, L.NEEDS_ATTENTION], OrderStatus.NEEDS_ATTENTION),
        ([L.DECISION_NEEDED, L.NEEDS_ATTENTION], OrderStatus.DECISION_NEEDED),
        ([L.CANCELLED, L.CANCELLED], OrderStatus.CANCELLED),
        ([L.CANCELLED, L.FULFILMENT_ONLY], OrderStatus.FULFILLED),
        ([L.SCHEDULED, L.IN_PRODUCTION], OrderStatus.IN_PRODUCTION),
        ([L.SCHEDULED, L.MADE], OrderStatus.IN_PRODUCTION),
        ([L.PACKED, L.CANCELLED], OrderStatus.IN_PRODUCTION),
        ([L.SHIPPED, L.RELEASED], OrderStatus.IN_PRODUCTION),  # partly shipped
        ([L.SHIPPED, L.DELIVERED, L.FULFILMENT_ONLY], OrderStatus.FULFILLED),
        ([L.DELIVERED], OrderStatus.FULFILLED),
    ],
)
def test_derive_order_status(lines: list[LineStatus], status: OrderStatus) -> None:
    assert derive_order_status(lines) == status
