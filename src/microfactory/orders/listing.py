"""The read side of orders: paged lists of orders, work orders and lines in needs attention, and history.

Every list is oldest first (offset paging stays stable while new work arrives at the end) and comes
with the size of the whole filtered list, so users see how much they have not seen yet.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from microfactory.db.tables.logistics import ShipmentRow
from microfactory.db.tables.orders import AuditEventRow, OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound
from microfactory.orders import audit
from microfactory.orders.model import LineStatus, OrderStatus
from microfactory.orders.paging import Page
from microfactory.orders.service import get_order
from microfactory.orders.ship_to_notes import NOTES_KEY


def _count(uow: UnitOfWork, query: Select[Any]) -> int:
    return int(uow.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0)


def page_orders(
    uow: UnitOfWork,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 50,
    offset: int = 0,
    hidden_channels: Collection[str] = (),
    search: str | None = None,
) -> Page[OrderRow]:
    """Orders, oldest first, filtered by status and channel; `hidden_channels` (what the caller may not
    read) are left out. `search` finds an order by its id, its store id or a part of its customer's name."""
    query = select(OrderRow)
    if search:
        wanted = search.strip()
        pattern = "%" + wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            or_(
                OrderRow.id == wanted,
                OrderRow.external_id == wanted,
                OrderRow.name.ilike(pattern, escape="\\"),
            )
        )
    if hidden_channels:
        query = query.where(OrderRow.channel.not_in(list(hidden_channels)))
    if status is not None:
        query = query.where(OrderRow.status == status)
    if channel is not None:
        query = query.where(OrderRow.channel == channel)
    rows = uow.session.scalars(
        query.options(selectinload(OrderRow.lines).selectinload(OrderLineRow.work_order))
        .order_by(OrderRow.created_at, OrderRow.id)
        .limit(limit)
        .offset(offset)
    )
    return Page(list(rows), _count(uow, query), limit, offset)


def order_counts(uow: UnitOfWork, hidden_channels: Collection[str] = ()) -> dict[str, int]:
    """How many orders stand in each status: the pipeline at a glance."""
    query = select(OrderRow.status, func.count()).group_by(OrderRow.status)
    if hidden_channels:
        query = query.where(OrderRow.channel.not_in(list(hidden_channels)))
    return {status: int(count) for status, count in uow.session.execute(query)}


def page_work_orders(
    uow: UnitOfWork, status: str | None = None, site: str | None = None, limit: int = 50, offset: int = 0
) -> Page[WorkOrderRow]:
    """Work orders, oldest first, filtered by status and site."""
    query = select(WorkOrderRow)
    if status is not None:
        query = query.where(WorkOrderRow.status == status)
    if site is not None:
        query = query.where(WorkOrderRow.site == site)
    rows = uow.session.scalars(
        query.order_by(WorkOrderRow.created_at, WorkOrderRow.id).limit(limit).offset(offset)
    )
    return Page(list(rows), _count(uow, query), limit, offset)


def page_needs_attention(uow: UnitOfWork, limit: int = 50, offset: int = 0) -> Page[OrderLineRow]:
    """Lines waiting for a correction, oldest order first and in line order within an order."""
    query = (
        select(OrderLineRow)
        .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
        .where(OrderLineRow.status == LineStatus.NEEDS_ATTENTION.value)
    )
    rows = uow.session.scalars(
        query.options(selectinload(OrderLineRow.work_order), selectinload(OrderLineRow.order))
        .order_by(OrderRow.created_at, OrderRow.id, OrderLineRow.position)
        .limit(limit)
        .offset(offset)
    )
    return Page(list(rows), _count(uow, query), limit, offset)


def page_order_warnings(uow: UnitOfWork, limit: int = 50, offset: int = 0) -> Page[OrderRow]:
    """Open orders that carry warnings (`orders.ship_to_notes`), oldest first: they route, but a
    person should look (a city placed at its country's capital)."""
    closed = [OrderStatus.CANCELLED.value, OrderStatus.FULFILLED.value]
    query = select(OrderRow).where(
        OrderRow.attributes[NOTES_KEY].as_string().is_not(None), OrderRow.status.not_in(closed)
    )
    rows = uow.session.scalars(query.order_by(OrderRow.created_at, OrderRow.id).limit(limit).offset(offset))
    return Page(list(rows), _count(uow, query), limit, offset)


def order_history(uow: UnitOfWork, order_id: str) -> list[AuditEventRow]:
    """The audit trail of an order, its lines and their work orders, oldest first."""
    order = get_order(uow, order_id)
    ids = [order.id] + [line.id for line in order.lines]
    ids += [line.work_order.id for line in order.lines if line.work_order is not None]
    ids += list(uow.session.scalars(select(ShipmentRow.id).where(ShipmentRow.order_id == order.id)))
    return audit.history(uow, ids)


def find_line(uow: UnitOfWork, line_id: str) -> OrderLineRow:
    """An order line by its own id (the CLI corrects lines by id alone)."""
    line = uow.session.get(OrderLineRow, line_id)
    if line is None:
        raise NotFound("order line", line_id)
    return line
