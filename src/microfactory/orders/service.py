"""Order use cases shared by the API, the CLI, the channels and the workers.

`intake` is idempotent on (channel, external id), which works as an idempotency key: the same content
sent twice gets the order it sent first; other content under the same id is refused (`OrderDiffers`,
a `Conflict` naming what differs, see `orders.sameness`). Orders of a store channel (`STORE_CHANNELS`)
come only from that store: no API client writes them (`check_client_channel`). Lines that cannot be
made wait in *needs attention*; `correct_line` releases them.

Concurrency (decision 0009): a use case that changes an order's lines locks the order's row first
(`get_order(lock=True)`, `find_order(lock=True)`: `SELECT ... FOR UPDATE`, re-read under the lock),
then its work orders; two creators of one order meet at the unique (channel, external id), and the
loser takes the winner's row, locked. The router never waits for these locks (`SKIP LOCKED`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from microfactory.catalog.bridge import TranslationError, translate
from microfactory.catalog.service import CatalogSet, active_catalogs
from microfactory.catalog.work_order import Translation
from microfactory.db import locks
from microfactory.db.base import new_id
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid, NotFound
from microfactory.orders import audit, sameness, transitions
from microfactory.orders.attention import retryable
from microfactory.orders.lifecycle import (
    CancellationVerdict,
    LineStatus,
    WorkOrderStatus,
    cancellation_verdict,
)
from microfactory.orders.model import Address, LineKind, NewOrder, NewOrderLine
from microfactory.orders.ship_to_notes import NOTES_KEY, ship_to_notes
from microfactory.problems import Problem


class OrderNotFound(NotFound):
    def __init__(self, what: str) -> None:
        super().__init__("order", what, f"no order {what}")


class LineNotCorrectable(Conflict):
    """Only a line in *needs attention* can be corrected."""


# Orders of these channels come only from the store itself (webhooks, reconcile), never from a client:
# the store's line set is the order, and an invented line would be made.
STORE_CHANNELS = frozenset({"shopify"})


class ChannelNotWritable(Invalid):
    """A client tried to write an order into a channel only its store writes."""


class OrderDiffers(Conflict):
    """The order id was received before with other content; the message names each difference."""

    def __init__(self, order: OrderRow, found: list[str]) -> None:
        super().__init__(
            f"order {order.external_id!r} of channel {order.channel} was received before "
            f"({order.id}) with other content: {sameness.summary(found)}"
        )
        self.order = order
        self.differences = found


@dataclass(frozen=True)
class IntakeResult:
    order: OrderRow
    created: bool
    refused: OrderDiffers | None = None  # intake_many: the same id came with other content


def check_client_channel(channel: str) -> None:
    """Refuse (422, at `channel`) an order a client writes into a store's channel."""
    if channel in STORE_CHANNELS:
        message = f"orders of the {channel} channel come only from {channel} (webhooks and reconcile)"
        raise ChannelNotWritable("this channel is not writable", [Problem("channel", message)])


def check_same_content(order: OrderRow, new: NewOrder) -> None:
    """Raise `OrderDiffers` when `new` is not what was first received under the order's id.

    Orders stored before the content was kept, and store channels (updated by `updated_at`), pass.
    """
    found = _content_differences(order, new)
    if found:
        raise OrderDiffers(order, found)


def _content_differences(order: OrderRow, new: NewOrder) -> list[str]:
    received = (order.attributes or {}).get(sameness.CONTENT_KEY)
    if order.channel in STORE_CHANNELS or not isinstance(received, dict):
        return []
    return sameness.differences(received, sameness.content_of(new))


def intake(
    uow: UnitOfWork,
    new: NewOrder,
    catalogs: CatalogSet | None = None,
    *,
    same_content: bool = True,
    actor: str = "intake",
) -> IntakeResult:
    """Accept an order once: translate each line, or keep it in needs attention with its problems.

    An id already taken answers its order; with `same_content` (all but a store's own sync) other
    content under that id raises `OrderDiffers`. `actor` names who sent it in the audit trail (the
    API token's name).
    """
    known = uow.session.scalar(
        select(OrderRow.id).where(OrderRow.channel == new.channel, OrderRow.external_id == new.external_id)
    )
    if known is not None:
        order = get_order(uow, known, lock=True)
        if same_content:
            check_same_content(order, new)
        return IntakeResult(order, created=False)
    catalogs = catalogs if catalogs is not None else active_catalogs(uow)
    bookmark = audit.mark(uow)
    try:
        with uow.session.begin_nested():  # a lost race undoes this order only, not the caller's work
            order = _new_order(uow, new, catalogs, actor)
    except IntegrityError:  # the same order arrived concurrently: the first one stands
        audit.discard_since(uow, bookmark)
        winner = find_order(uow, new.channel, new.external_id, lock=True)
        if winner is None:
            raise
        if same_content:
            check_same_content(winner, new)
        return IntakeResult(winner, created=False)
    return IntakeResult(order, created=True)


def intake_many(
    uow: UnitOfWork, batch: Sequence[NewOrder], actors: Sequence[str] | None = None
) -> list[IntakeResult]:
    """Accept several orders in one flush: what a burst of API requests costs as one write.

    Orders already stored, and repeats within the batch, come back as they are (created False), or
    with `refused` when their content differs (the batch goes on: one client's mistake is its own). The
    one flush fails only if another process stored one of the orders meanwhile; then the batch is
    taken again order by order, each in its own savepoint, so that only the duplicate is refused.
    `actors` names who sent each order (the audit trail's actor), "intake" when not given.
    """
    senders = list(actors) if actors is not None else ["intake"] * len(batch)
    keys = {(new.channel, new.external_id) for new in batch}
    stored = {
        (order.channel, order.external_id): order
        for order in uow.session.scalars(
            select(OrderRow)
            .where(  # both columns, so that the unique index (channel, external_id) finds them
                OrderRow.channel.in_({channel for channel, _ in keys}),
                OrderRow.external_id.in_({external for _, external in keys}),
            )
            .options(selectinload(OrderRow.lines).selectinload(OrderLineRow.work_order))
        )
        if (order.channel, order.external_id) in keys
    }
    catalogs = active_catalogs(uow)
    bookmark = audit.mark(uow)
    results: list[IntakeResult] = []
    try:
        with uow.session.begin_nested():
            for new, actor in zip(batch, senders, strict=True):
                key = (new.channel, new.external_id)
                if key in stored:
                    found = _content_differences(stored[key], new)
                    refused = OrderDiffers(stored[key], found) if found else None
                    results.append(IntakeResult(stored[key], created=False, refused=refused))
                else:
                    stored[key] = _new_order(uow, new, catalogs, actor)
                    results.append(IntakeResult(stored[key], created=True))
    except IntegrityError:
        audit.discard_since(uow, bookmark)
        return [
            _intake_or_refused(uow, new, catalogs, actor) for new, actor in zip(batch, senders, strict=True)
        ]
    return results


def _intake_or_refused(uow: UnitOfWork, new: NewOrder, catalogs: CatalogSet, actor: str) -> IntakeResult:
    try:
        return intake(uow, new, catalogs, actor=actor)
    except OrderDiffers as refused:
        return IntakeResult(refused.order, created=False, refused=refused)


def _new_order(uow: UnitOfWork, new: NewOrder, catalogs: CatalogSet, actor: str = "intake") -> OrderRow:
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
        attributes=_attributes(new),
    )
    note_ship_to(order)
    uow.session.add(order)
    for position, line in enumerate(new.lines):
        order.lines.append(_new_line(uow, order, position, line, catalogs, actor))
    refresh_status(uow, order, reason=f"received from {new.channel}", actor=actor)
    return order


def _attributes(new: NewOrder) -> dict[str, Any]:
    """The channel's attributes, and the content as received for a client's order (see `sameness`)."""
    if new.channel in STORE_CHANNELS:
        return dict(new.attributes)
    return {**new.attributes, sameness.CONTENT_KEY: sameness.content_of(new)}


def note_ship_to(order: OrderRow) -> None:
    """Keep the order's warnings about its destination current: at intake and when a store moves it.

    A warning never blocks the order (it still routes); it tells the operator that the distances
    and promises rest on an estimate (`ship_to_notes`), in the order's JSON and in needs attention.
    """
    notes = ship_to_notes(Address.from_dict(order.ship_to or {}))
    attributes = {key: value for key, value in (order.attributes or {}).items() if key != NOTES_KEY}
    if notes:
        attributes[NOTES_KEY] = notes
    order.attributes = attributes


def _new_line(
    uow: UnitOfWork,
    order: OrderRow,
    position: int,
    new: NewOrderLine,
    catalogs: CatalogSet,
    actor: str = "intake",
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
        transitions.begin_line(uow, line, LineStatus.FULFILMENT_ONLY, reason="not manufactured", actor=actor)
        return line
    if new.problems:
        problems = "; ".join(str(p) for p in new.problems)
        transitions.begin_line(uow, line, LineStatus.NEEDS_ATTENTION, reason=problems, actor=actor)
        return line
    _release(uow, order, line, catalogs, actor=actor)
    return line


def _release(uow: UnitOfWork, order: OrderRow, line: OrderLineRow, catalogs: CatalogSet, actor: str) -> None:
    """Translate the line; on success give it a work order, otherwise record its problems.

    A new line starts here (`begin_line`); a corrected one moves from needs attention. A correction
    that still fails leaves the line where it was, with an audit note of the new problems.
    """
    try:
        translation = _translate_line(line, catalogs)
    except TranslationError as error:
        line.problems = [p.as_dict() for p in error.problems]
        if not line.status:
            transitions.begin_line(uow, line, LineStatus.NEEDS_ATTENTION, reason=error.summary, actor=actor)
        else:
            audit.record(uow, "line", line.id, line.status, line.status, error.summary, actor)
        return
    _give_work_order(uow, order, line, translation, actor)


def _give_work_order(
    uow: UnitOfWork, order: OrderRow, line: OrderLineRow, translation: Translation, actor: str
) -> None:
    """The line translated: it gets its work order, is released, and the release is published."""
    line.product = translation.product
    line.options = dict(translation.options)
    line.problems = []
    line.configuration_key = translation.configuration_key
    work_order = _work_order(line, translation)
    line.work_order = work_order
    reason = f"work order {work_order.id}"
    if not line.status:
        transitions.begin_line(uow, line, LineStatus.RELEASED, reason=reason, actor=actor)
    else:
        transitions.move_line(uow, line, LineStatus.RELEASED, reason=reason, actor=actor, refresh_order=False)
    transitions.begin_work_order(uow, work_order, order.id, reason=f"from line {line.id}", actor=actor)


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
        status="",  # transitions.begin_work_order releases it
        catalog=translation.catalog,
        catalog_version=translation.catalog_version,
        product=translation.product,
        configuration_key=translation.configuration_key,
        qty=translation.qty,
        translation=translation.as_dict(),
        total_minutes=translation.total_minutes,
    )


def refresh_status(uow: UnitOfWork, order: OrderRow, reason: str, actor: str = "system") -> None:
    """Derive the order's status from its lines, once, at the end of a use case that moved several."""
    transitions.refresh_order_status(uow, order, reason=reason, actor=actor)


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
    order = get_order(uow, order_id, lock=True)
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


@dataclass(frozen=True)
class RetryOutcome:
    """What a re-try of needs attention did: the lines it released and those still waiting."""

    released: list[OrderLineRow]
    waiting: list[OrderLineRow]


def retry_needs_attention(uow: UnitOfWork, actor: str = "operator") -> RetryOutcome:
    """Translate every line in needs attention again against the newest catalogs (after a catalog fix).

    A line that now translates gets its work order and is released; the others keep waiting with the
    problems found now. Lines with a problem no catalog can fix (`orders.attention`) are left for a
    person. Idempotent: a second run finds only the lines still waiting and changes nothing more
    unless a catalog changed again. Two runs at once on PostgreSQL each skip the lines the other has
    locked (`FOR UPDATE SKIP LOCKED`); SQLite lets one writer at a time.
    """
    catalogs = active_catalogs(uow)
    lines = uow.session.scalars(
        select(OrderLineRow)
        .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
        .where(OrderLineRow.status == LineStatus.NEEDS_ATTENTION.value)
        .order_by(OrderRow.created_at, OrderRow.id, OrderLineRow.position)
        .options(selectinload(OrderLineRow.order).selectinload(OrderRow.lines))
        .with_for_update(of=OrderLineRow, skip_locked=True)
    ).all()
    claimed = claim_orders(uow, {line.order_id for line in lines})  # moving lines moves the order
    lines = [line for line in lines if line.order_id in claimed]
    released: list[OrderLineRow] = []
    waiting: list[OrderLineRow] = []
    for line in lines:
        if _retry_line(uow, line, catalogs, actor):
            released.append(line)
        else:
            waiting.append(line)
    for order in {line.order_id: line.order for line in released}.values():
        refresh_status(uow, order, reason="needs attention re-tried", actor=actor)
    return RetryOutcome(released, waiting)


def _retry_line(uow: UnitOfWork, line: OrderLineRow, catalogs: CatalogSet, actor: str) -> bool:
    """Release the line if it now translates (True); otherwise note its current problems (False)."""
    if not retryable(line.problems):
        return False
    if not line.product and not _match_sku(line, catalogs):
        return False  # its SKU is still unknown: the store's problem stands as it was
    try:
        translation = _translate_line(line, catalogs)
    except TranslationError as error:
        problems = [p.as_dict() for p in error.problems]
        if problems != line.problems:
            line.problems = problems
            audit.record(uow, "line", line.id, line.status, line.status, error.summary, actor)
        return False
    _give_work_order(uow, line.order, line, translation, actor)
    return True


def _match_sku(line: OrderLineRow, catalogs: CatalogSet) -> bool:
    """A line whose SKU no catalog knew: name its product if a catalog's SKU pattern matches now."""
    found = catalogs.match_sku(line.sku) if line.sku else None
    if found is None or found[1].stocked:
        return False  # still unknown, or sold from stock: a person decides
    _catalog, product, from_sku = found
    personal = product.shopify.options_from(line.properties) if product.shopify is not None else {}
    line.product = product.sku
    line.options = {**from_sku, **personal, **line.options}
    return True


def cancel_order(uow: UnitOfWork, order_id: str, reason: str, actor: str = "system") -> OrderRow:
    """Cancel work not yet started; flag started work for a decision instead of throwing it away.

    The order and then its work orders are locked and re-read, so a router that offered the work
    meanwhile is seen (its offer is released with the cancellation), never overwritten unseen.
    """
    order = get_order(uow, order_id, lock=True)
    lock_work_orders(uow, order)
    for line in order.lines:
        withdraw_line(uow, order, line, reason, actor)
    refresh_status(uow, order, reason=reason, actor=actor)
    return order


def withdraw_line(uow: UnitOfWork, order: OrderRow, line: OrderLineRow, reason: str, actor: str) -> bool:
    """Cancel a line whose work has not started (True); flag started work for a decision (False).

    `lifecycle.cancellation_verdict` decides; a line already cancelled or gone to the customer is
    left alone (False). The caller derives the order's status once it has withdrawn what it wanted.
    """
    work_order = line.work_order
    verdict = cancellation_verdict(
        LineStatus(line.status), WorkOrderStatus(work_order.status) if work_order is not None else None
    )
    if verdict == CancellationVerdict.ALREADY_DONE:
        return False
    if verdict == CancellationVerdict.DECIDE:
        if line.status != LineStatus.DECISION_NEEDED.value:
            line.problems = [*line.problems, {"path": "status", "message": f"{reason} after work started"}]
        transitions.move_line(
            uow, line, LineStatus.DECISION_NEEDED, reason=reason, actor=actor, refresh_order=False
        )
        return False
    if work_order is not None:
        transitions.move_work_order(uow, work_order, WorkOrderStatus.CANCELLED, reason=reason, actor=actor)
    transitions.move_line(uow, line, LineStatus.CANCELLED, reason=reason, actor=actor, refresh_order=False)
    return True


def add_line(
    uow: UnitOfWork, order: OrderRow, new: NewOrderLine, catalogs: CatalogSet | None = None
) -> OrderLineRow:
    """Add a line to an order already taken in (a store edit): translated and audited as at intake."""
    position = max((existing.position for existing in order.lines), default=-1) + 1
    line = _new_line(uow, order, position, new, catalogs if catalogs is not None else active_catalogs(uow))
    order.lines.append(line)
    return line


def find_order(uow: UnitOfWork, channel: str, external_id: str, *, lock: bool = False) -> OrderRow | None:
    """The order a channel knows by `external_id`; with `lock`, locked and re-read (see the module)."""
    query = select(OrderRow).where(OrderRow.channel == channel, OrderRow.external_id == str(external_id))
    return uow.session.scalar(_with_lines(query, lock))


def get_order(uow: UnitOfWork, order_id: str, *, lock: bool = False) -> OrderRow:
    """An order with its lines and work orders; with `lock`, its row locked and everything re-read."""
    order = uow.session.scalar(_with_lines(select(OrderRow).where(OrderRow.id == order_id), lock))
    if order is None:
        raise OrderNotFound(order_id)
    return order


def _with_lines(query: Select[OrderRow], lock: bool) -> Select[OrderRow]:
    """Load lines and work orders; when locking, after the lock is granted and over stale copies."""
    query = query.options(selectinload(OrderRow.lines).selectinload(OrderLineRow.work_order))
    if lock:
        query = query.with_for_update(of=OrderRow).execution_options(populate_existing=True)
    return query


def claim_orders(uow: UnitOfWork, order_ids: Collection[str]) -> set[str]:
    """Lock orders without waiting (`FOR UPDATE SKIP LOCKED`); the ids this transaction now holds.

    For work that takes rows first and must never wait for an order (the router, under its lock;
    the needs-attention retry, which holds lines): an order someone else holds is left for later.
    SQLite: all of them (its one writer is this transaction).
    """
    if not order_ids or not locks.is_postgresql(uow.session):
        return set(order_ids)
    query = select(OrderRow.id).where(OrderRow.id.in_(list(order_ids)))
    return set(uow.session.scalars(query.order_by(OrderRow.id).with_for_update(skip_locked=True)))


def lock_work_orders(uow: UnitOfWork, order: OrderRow) -> None:
    """Lock the order's work orders (`FOR UPDATE`, by id) and re-read their status under the lock."""
    line_ids = [line.id for line in order.lines]
    if line_ids:
        uow.session.scalars(
            select(WorkOrderRow)
            .where(WorkOrderRow.order_line_id.in_(line_ids))
            .order_by(WorkOrderRow.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()


def lines_needing_attention(uow: UnitOfWork, limit: int = 500) -> list[OrderLineRow]:
    return list(
        uow.session.scalars(
            select(OrderLineRow).where(OrderLineRow.status == LineStatus.NEEDS_ATTENTION.value).limit(limit)
        )
    )


def get_work_order(uow: UnitOfWork, work_order_id: str) -> WorkOrderRow:
    row = uow.session.get(WorkOrderRow, work_order_id)
    if row is None:
        raise NotFound("work order", work_order_id, f"no work order {work_order_id}")
    return row
