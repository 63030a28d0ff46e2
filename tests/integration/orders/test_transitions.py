"""The lifecycle owner on real databases (SQLite and PostgreSQL): a legal move is audited, derives
the order's status and publishes its event; an illegal one is refused and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.db.base import new_id
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.tables.orders import AuditEventRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.orders import events, service, transitions
from microfactory.orders.lifecycle import AssignmentStatus, LineStatus, WorkOrderStatus
from microfactory.orders.model import NewOrder, NewOrderLine


@pytest.fixture
def work_order_id(engine: Engine, examples: Path) -> str:
    """One released work order of a one-line order."""
    with UnitOfWork.for_engine(engine) as uow:
        catalog_service.load_catalog(uow, read_catalog_file(examples / "catalog-keypad.yaml"))
        result = service.intake(uow, NewOrder("test", "T-1", (NewOrderLine(qty=1, product="KP"),)))
        work_order = result.order.lines[0].work_order
        assert work_order is not None
        uow.commit()
        return work_order.id


@pytest.fixture
def published() -> Iterator[list[Any]]:
    """Every WorkOrderCancelled and DecisionNeeded published while the test runs."""
    seen: list[Any] = []

    def remember(uow: UnitOfWork, event: Any) -> None:
        seen.append(event)

    for kind in (events.WorkOrderCancelled, events.DecisionNeeded):
        events.subscribe(kind, remember)
    yield seen
    for kind in (events.WorkOrderCancelled, events.DecisionNeeded):
        events.unsubscribe(kind, remember)


def trail(uow: UnitOfWork, entity_id: str) -> list[tuple[str | None, str, str]]:
    rows = uow.session.scalars(
        select(AuditEventRow).where(AuditEventRow.entity_id == entity_id).order_by(AuditEventRow.id)
    )
    return [(row.from_status, row.to_status, row.actor) for row in rows]


def test_a_legal_move_is_audited_and_its_line_and_order_follow(engine: Engine, work_order_id: str) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        work_order = uow.session.get(WorkOrderRow, work_order_id)
        assert work_order is not None
        moved = transitions.move_work(
            uow,
            work_order,
            WorkOrderStatus.ASSIGNED,
            reason="berlin is nearest",
            actor="router",
            site="berlin",
        )
        assert moved
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        work_order = uow.session.get(WorkOrderRow, work_order_id)
        assert work_order is not None
        line = work_order.line
        assert (work_order.status, work_order.site) == ("assigned", "berlin")
        assert (line.status, line.site) == ("routed", "berlin")
        assert line.order.status == "accepted"
        assert trail(uow, work_order_id)[-1] == ("released", "assigned", "router")
        assert trail(uow, line.id)[-1] == ("released", "routed", "router")
        line_id = line.id
        transitions.move_work(uow, work_order, WorkOrderStatus.IN_PROGRESS, reason="printing", actor="agent")
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        work_order = uow.session.get(WorkOrderRow, work_order_id)
        assert work_order is not None
        assert work_order.line.status == "in_production"
        assert work_order.line.order.status == "in_production"
        assert work_order.site == "berlin"  # kept when not named
        assert trail(uow, work_order.line.order_id)[-1] == ("accepted", "in_production", "agent")
        assert trail(uow, line_id)[-1] == ("routed", "in_production", "agent")


def test_an_illegal_move_is_a_named_conflict_and_changes_nothing(engine: Engine, work_order_id: str) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        work_order = uow.session.get(WorkOrderRow, work_order_id)
        assert work_order is not None
        before = trail(uow, work_order_id)
        with pytest.raises(Conflict, match=f"work order {work_order_id} is released; it cannot become made"):
            transitions.move_work(uow, work_order, WorkOrderStatus.MADE, reason="too soon", actor="agent")
        assert work_order.status == "released"
        assert work_order.line.status == "released"  # the line's move is checked before either is written
        uow.commit()
    with UnitOfWork.for_engine(engine) as uow:
        work_order = uow.session.get(WorkOrderRow, work_order_id)
        assert work_order is not None
        assert (work_order.status, work_order.line.status) == ("released", "released")
        assert trail(uow, work_order_id) == before


def test_cancelling_publishes_and_a_second_cancel_is_a_no_op(
    engine: Engine, work_order_id: str, published: list[Any]
) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        work_order = uow.session.get(WorkOrderRow, work_order_id)
        assert work_order is not None
        reason = "customer changed their mind"
        assert transitions.move_work_order(
            uow, work_order, WorkOrderStatus.CANCELLED, reason=reason, actor="ops"
        )
        assert not transitions.move_work_order(
            uow, work_order, WorkOrderStatus.CANCELLED, reason=reason, actor="ops"
        )
        uow.commit()
        order_id = work_order.line.order_id
        with pytest.raises(Conflict, match="is cancelled; it cannot become assigned"):
            transitions.move_work_order(
                uow, work_order, WorkOrderStatus.ASSIGNED, reason="late", actor="router"
            )
    assert published == [events.WorkOrderCancelled(work_order_id, order_id, reason)]
    with UnitOfWork.for_engine(engine) as uow:
        assert trail(uow, work_order_id)[1:] == [("released", "cancelled", "ops")]


def test_a_line_that_needs_a_decision_publishes_and_the_order_says_so(
    engine: Engine, work_order_id: str, published: list[Any]
) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        work_order = uow.session.get(WorkOrderRow, work_order_id)
        assert work_order is not None
        line = work_order.line
        transitions.move_line(
            uow, line, LineStatus.DECISION_NEEDED, reason="edited in the store", actor="shop"
        )
        uow.commit()
        assert line.order.status == "decision_needed"
        assert published == [events.DecisionNeeded(work_order_id, line.order_id, "edited in the store")]


def test_assignments_move_through_the_owner(engine: Engine, work_order_id: str) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        work_order = uow.session.get(WorkOrderRow, work_order_id)
        assert work_order is not None
        row = AssignmentRow(
            id=new_id("asg"),
            work_order_id=work_order_id,
            order_id=work_order.line.order_id,
            group_id=work_order_id,
            network="test",
            site="berlin",
            status=AssignmentStatus.OFFERED.value,
            minutes={},
            explanation={},
        )
        uow.session.add(row)
        transitions.move_assignment(uow, row, AssignmentStatus.DECLINED, reason="laser busy", actor="berlin")
        uow.commit()
        with pytest.raises(Conflict, match=f"assignment {row.id} is declined; it cannot become accepted"):
            transitions.move_assignment(
                uow, row, AssignmentStatus.ACCEPTED, reason="late yes", actor="berlin"
            )
        uow.rollback()
    with UnitOfWork.for_engine(engine) as uow:
        stored = uow.session.get(AssignmentRow, row.id)
        assert stored is not None
        assert stored.status == "declined"
        assert trail(uow, row.id) == [("offered", "declined", "berlin")]
