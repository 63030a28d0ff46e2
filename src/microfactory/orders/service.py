"""Order use cases shared by the API, the CLI, the channels and the workers.

`intake` is idempotent on (channel, external id): a store that sends the same order twice gets the
one it sent first. Lines that cannot be made wait in *needs attention*; `correct_line` releases them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from microfactory.catalog.bridge import TranslationError, translate
from microfactory.catalog.service import CatalogSet, active_catalogs
from microfactory.catalog.work_order import Translation
from microfactory.db.base import new_id
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import audit, events
from microfactory.orders.model import (
    STARTED_LINE,
    STARTED_WORK,
    LineKind,
    LineStatus,
    NewOrder,
    NewOrderLine,
    WorkOrderStatus,
    derive_order_status,
)
from microfactory.problems import Problem


class OrderNotFound(LookupError):
    def __init__(self, what: str) -> None:
        super().__init__(f"no order {what}")


class LineNotCorrectable(ValueError):
    """Only a line in *needs attention* can be corrected."""


@dataclass(frozen=True)
class IntakeResult:
    order: OrderRow
    created: bool


def intake(uow: UnitOfWork, new: NewOrder, catalogs: CatalogSet | None = None) -> IntakeResult:
    """Accept an order once: translate each line, or keep it in needs attention with its problems."""
    known = uow.session.scalar(
        select(OrderRow.id).where(OrderRow.channel == new.channel, OrderRow.external_id == new.external_id)
    )
    if known is not None:
        return IntakeResult(get_order(uow, known), created=False)
    catalogs = catalogs if catalogs is not None else active_catalogs(uow)
    bookmark = audit.mark(uow)
    try:
        with uow.session.begin_nested():  # a lost race undoes this order only, not the caller's work
            order = _new_order(uow, new, catalogs)
    except IntegrityError:  # the same order arrived concurrently: the first one stands
        audit.discard_since(uow, bookmark)
        winner = find_order(uow, new.channel, new.external_id)
        if winner is None:
            raise
        return IntakeResult(winner, created=False)
    return IntakeResult(order, created=True)


def intake_many(uow: UnitOfWork, batch: Sequence[NewOrder]) -> list[IntakeResult]:
    """Accept several orders in one flush: what a burst of API requests costs as one write.

    Orders already stored, and repeats within the batch, come back as they are (created False). The
    one flush fails only if another process stored one of the orders meanwhile; then the batch is
    taken again order by order, each in its own savepoint, so that only the duplicate is refused.
    """
    keys = {(new.channel, new.external_id) for new in batch}
    stored = {
        (order.channel, order.external_id): order
        for order in uow.session.scalars(
            select(OrderRow)
            .where(OrderRow.external_id.in_({external for _, external in keys}))
            .options(selectinload(OrderRow.lines).selectinload(OrderLineRow.work_order))
        )
        if (order.channel, order.external_id) in keys
    }
    catalogs = active_catalogs(uow)
    bookmark = audit.mark(uow)
    results: list[IntakeResult] = []
    try:
        with uow.session.begin_nested():
            for new in batch:
                key = (new.channel, new.external_id)
                if key in stored:
                    results.append(IntakeResult(stored[key], created=False))
                else:
                    stored[key] = _new_order(uow, new, catalogs)
                    results.append(IntakeResult(stored[key], created=True))
    except IntegrityError:
        audit.discard_since(uow, bookmark)
        return [intake(uow, new, catalogs) for new in batch]
    return results


def _new_order(uow: UnitOfWork, new: NewOrder, catalogs: CatalogSet) -> OrderRow:
    order = OrderRow(
        id=new_id("ord"),
        channel=new.channel,
        external_id=new.external_id,
        status="",
        name=new.name,
        email=new.email,
        currency=new.currency,
        total_price=new.total_price,
        ship_to=new.ship_to.as_dict(),
        allow_split=new.allow_split,
        source_updated_at=new.source_updated_at,
        attributes=dict(new.attributes),
    )
    uow.session.add(order)
    for position, line in enumerate(new.lines):
        order.lines.append(_new_line(uow, order, position, line, catalogs))
    refresh_status(uow, order, reason=f"received from {new.channel}")
    return order


def _new_line(
    uow: UnitOfWork, order: OrderRow, position: int, new: NewOrderLine, catalogs: CatalogSet
) -> OrderLineRow:
    line = OrderLineRow(
        id=new_id("line"),
        position=position,
        external_id=new.external_id,
        kind=new.kind.value,
        sku=new.sku,
        product=new.product,
        title=new.title,
        qty=new.qty,
        options=dict(new.options),
        properties=dict(new.properties),
        unit_price=new.unit_price,
        status="",
        problems=[p.as_dict() for p in new.problems],
    )
    if new.kind == LineKind.FULFILMENT_ONLY:
        line.status = LineStatus.FULFILMENT_ONLY.value
        audit.record(uow, "line", line.id, line.status, reason="not manufactured")
        return line
    if new.problems:
        line.status = LineStatus.NEEDS_ATTENTION.value
        audit.record(uow, "line", line.id, line.status, reason="; ".join(str(p) for p in new.problems))
        return line
    _release(uow, order, line, catalogs, actor="intake")
    return line


def _release(uow: UnitOfWork, order: OrderRow, line: OrderLineRow, catalogs: CatalogSet, actor: str) -> None:
    """Translate the line; on success give it a work order, otherwise record its problems."""
    before = line.status or None
    try:
        translation = _translate_line(line, catalogs)
    except TranslationError as error:
        line.status = LineStatus.NEEDS_ATTENTION.value
        line.problems = [p.as_dict() for p in error.problems]
        audit.record(uow, "line", line.id, line.status, before, error.summary, actor)
        return
    line.product = translation.product
    line.options = dict(translation.options)
    line.problems = []
    line.configuration_key = translation.configuration_key
    line.status = LineStatus.RELEASED.value
    work_order = _work_order(line, translation)
    line.work_order = work_order
    audit.record(uow, "line", line.id, line.status, before, f"work order {work_order.id}", actor)
    audit.record(uow, "work_order", work_order.id, work_order.status, None, f"from line {line.id}", actor)
    uow.session.add(work_order)
    events.publish(uow, events.WorkOrderReleased(work_order.id, order.id))


def _translate_line(line: OrderLineRow, catalogs: CatalogSet) -> Translation:
    if not line.product:
        raise TranslationError("no product", [Problem("product", "the line names no product")])
    found = catalogs.find_product(line.product)
    if found is None:
        raise TranslationError(
            f"unknown product '{line.product}'",
            [Problem("product", f"unknown product '{line.product}' in the loaded catalogs")],
        )
    catalog, product = found
    return translate(catalog, product.sku, line.options, line.qty)


def _work_order(line: OrderLineRow, translation: Translation) -> WorkOrderRow:
    return WorkOrderRow(
        id=new_id("wo"),
        status=WorkOrderStatus.RELEASED.value,
        catalog=translation.catalog,
        catalog_version=translation.catalog_version,
        product=translation.product,
        configuration_key=translation.configuration_key,
        qty=translation.qty,
        translation=translation.as_dict(),
        total_minutes=translation.total_minutes,
    )


def refresh_status(uow: UnitOfWork, order: OrderRow, reason: str, actor: str = "system") -> None:
    status = derive_order_status(LineStatus(line.status) for line in order.lines).value
    if status != order.status:
        audit.record(uow, "order", order.id, status, order.status or None, reason, actor)
        order.status = status


def correct_line(
    uow: UnitOfWork,
    order_id: str,
    line_id: str,
    *,
    product: str | None = None,
    options: Mapping[str, Any] | None = None,
    qty: int | None = None,
    actor: str = "operator",
) -> OrderLineRow:
    """Correct a line in needs attention and try to release it again."""
    order = get_order(uow, order_id)
    line = next((candidate for candidate in order.lines if candidate.id == line_id), None)
    if line is None:
        raise OrderNotFound(f"line {line_id} in order {order_id}")
    if line.status != LineStatus.NEEDS_ATTENTION.value:
        raise LineNotCorrectable(
            f"line {line_id} is {line.status}; only lines in needs_attention can be corrected"
        )
    if product is not None:
        line.product = product
    if options is not None:
        line.options = {**line.options, **options}
    if qty is not None:
        line.qty = qty
    _release(uow, order, line, active_catalogs(uow), actor)
    refresh_status(uow, order, reason=f"line {line.id} corrected", actor=actor)
    return line


def cancel_order(uow: UnitOfWork, order_id: str, reason: str, actor: str = "system") -> OrderRow:
    """Cancel work not yet started; flag started work for a decision instead of throwing it away."""
    order = get_order(uow, order_id)
    for line in order.lines:
        if line.status not in (LineStatus.CANCELLED.value, LineStatus.SHIPPED.value):
            withdraw_line(uow, order, line, reason, actor)
    refresh_status(uow, order, reason=reason, actor=actor)
    return order


def withdraw_line(uow: UnitOfWork, order: OrderRow, line: OrderLineRow, reason: str, actor: str) -> bool:
    """Cancel a line whose work has not started (True); flag started work for a decision (False)."""
    work_order = line.work_order
    before = line.status
    started = line.status in STARTED_LINE or (
        work_order is not None and WorkOrderStatus(work_order.status) in STARTED_WORK
    )
    if started:
        if line.status != LineStatus.DECISION_NEEDED.value:
            line.status = LineStatus.DECISION_NEEDED.value
            line.problems = [*line.problems, {"path": "status", "message": f"{reason} after work started"}]
            audit.record(uow, "line", line.id, line.status, before, reason, actor)
            if work_order is not None:
                events.publish(uow, events.DecisionNeeded(work_order.id, order.id, reason))
        return False
    line.status = LineStatus.CANCELLED.value
    if work_order is not None and work_order.status != WorkOrderStatus.CANCELLED.value:
        audit.record(uow, "work_order", work_order.id, "cancelled", work_order.status, reason, actor)
        work_order.status = WorkOrderStatus.CANCELLED.value
        events.publish(uow, events.WorkOrderCancelled(work_order.id, order.id, reason))
    audit.record(uow, "line", line.id, line.status, before, reason, actor)
    return True


def add_line(
    uow: UnitOfWork, order: OrderRow, new: NewOrderLine, catalogs: CatalogSet | None = None
) -> OrderLineRow:
    """Add a line to an order already taken in (a store edit): translated and audited as at intake."""
    position = max((existing.position for existing in order.lines), default=-1) + 1
    line = _new_line(uow, order, position, new, catalogs if catalogs is not None else active_catalogs(uow))
    order.lines.append(line)
    return line


def find_order(uow: UnitOfWork, channel: str, external_id: str) -> OrderRow | None:
    return uow.session.scalar(
        select(OrderRow)
        .where(OrderRow.channel == channel, OrderRow.external_id == str(external_id))
        .options(selectinload(OrderRow.lines).selectinload(OrderLineRow.work_order))
    )


def get_order(uow: UnitOfWork, order_id: str) -> OrderRow:
    order = uow.session.scalar(
        select(OrderRow)
        .where(OrderRow.id == order_id)
        .options(selectinload(OrderRow.lines).selectinload(OrderLineRow.work_order))
    )
    if order is None:
        raise OrderNotFound(order_id)
    return order


def list_orders(
    uow: UnitOfWork,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    offset: int = 0,
    hidden_channels: Collection[str] = (),
) -> list[OrderRow]:
    """Orders, oldest first; `hidden_channels` are left out (what the caller may not read)."""
    query = select(OrderRow).options(selectinload(OrderRow.lines).selectinload(OrderLineRow.work_order))
    if hidden_channels:
        query = query.where(OrderRow.channel.not_in(list(hidden_channels)))
    if status is not None:
        query = query.where(OrderRow.status == status)
    if channel is not None:
        query = query.where(OrderRow.channel == channel)
    return list(
        uow.session.scalars(query.order_by(OrderRow.created_at, OrderRow.id).limit(limit).offset(offset))
    )


def lines_needing_attention(uow: UnitOfWork, limit: int = 500) -> list[OrderLineRow]:
    return list(
        uow.session.scalars(
            select(OrderLineRow).where(OrderLineRow.status == LineStatus.NEEDS_ATTENTION.value).limit(limit)
        )
    )


def get_work_order(uow: UnitOfWork, work_order_id: str) -> WorkOrderRow:
    row = uow.session.get(WorkOrderRow, work_order_id)
    if row is None:
        raise LookupError(f"no work order {work_order_id}")
    return row


def list_work_orders(
    uow: UnitOfWork, status: str | None = None, site: str | None = None, limit: int = 100, offset: int = 0
) -> list[WorkOrderRow]:
    query = select(WorkOrderRow)
    if status is not None:
        query = query.where(WorkOrderRow.status == status)
    if site is not None:
        query = query.where(WorkOrderRow.site == site)
    query = query.order_by(WorkOrderRow.created_at, WorkOrderRow.id).limit(limit).offset(offset)
    return list(uow.session.scalars(query))
