"""Bring our copy of a Shopify order up to the state a payload describes, whatever order they come in.

Webhooks arrive late, twice, or out of order (orders/paid before orders/create), and reconciliation
replays orders the webhooks already brought. Every path goes through `sync_order`, which is
idempotent: Shopify's `updated_at` is kept on the order and an older or equal payload changes
nothing; a cancellation always wins (Shopify cannot undo one): once a cancellation has come, the order
keeps `cancelled_in_shopify` in its attributes and no later update re-opens it. The store's line set
wins: a line the store's payload does not hold (one an API client invented) is withdrawn. Edits to lines whose work has not
started cancel and re-take those lines; edits to started work are flagged for a person to decide.

Two deliveries of one order in two processes (decision 0009): the order's row is locked
(`SELECT ... FOR UPDATE`) and re-read before `updated_at` is compared, so the second waits and sees
what the first stored; when the order is new, the two creators meet at its unique (channel,
external id) and the loser goes on as an update of the winner's row, locked. On SQLite the sync
takes the one write lock before it reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from microfactory.catalog.service import CatalogSet, active_catalogs
from microfactory.channels.shopify.mapping import CHANNEL, ShopifyOrder, map_order
from microfactory.db.locks import become_writer
from microfactory.db.tables.orders import OrderLineRow, OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service
from microfactory.orders.model import LineStatus, NewOrderLine, OrderStatus

ACTOR = "shopify"
CANCELLED_MARK = "cancelled_in_shopify"  # kept on the order's attributes: a cancellation is final


@dataclass(frozen=True)
class SyncOutcome:
    order_id: str
    action: str  # created | updated | cancelled | unchanged


def sync_order(
    uow: UnitOfWork,
    payload: Mapping[str, Any],
    catalogs: CatalogSet | None = None,
    *,
    cancelled: bool = False,
) -> SyncOutcome:
    """Create the order if it is new, otherwise apply the payload if it is newer than what we hold."""
    become_writer(uow.session)
    catalogs = catalogs if catalogs is not None else active_catalogs(uow)
    mapped = map_order(payload, catalogs)
    cancel = cancelled or mapped.cancelled_at is not None
    order = service.find_order(uow, CHANNEL, mapped.new.external_id, lock=True)
    if order is None:
        result = service.intake(uow, mapped.new, catalogs, same_content=False)
        order = result.order
        if result.created:
            if cancel:
                _cancel(uow, order, mapped)
            return SyncOutcome(order.id, "created")
    if cancel:
        if order.status == OrderStatus.CANCELLED.value:
            return SyncOutcome(order.id, "unchanged")
        _cancel(uow, order, mapped)
        _remember_update(order, mapped)
        return SyncOutcome(order.id, "cancelled")
    if order.attributes.get(CANCELLED_MARK):
        return SyncOutcome(order.id, "unchanged")  # Shopify cannot re-open a cancelled order
    stored = order.source_updated_at
    if stored is not None and (mapped.updated_at is None or mapped.updated_at <= stored):
        return SyncOutcome(order.id, "unchanged")
    _apply_update(uow, order, mapped, catalogs)
    return SyncOutcome(order.id, "updated")


def _cancel(uow: UnitOfWork, order: OrderRow, mapped: ShopifyOrder) -> None:
    reason = f"cancelled in Shopify ({mapped.cancel_reason or 'no reason given'})"
    service.cancel_order(uow, order.id, reason, actor=ACTOR)
    when = mapped.cancelled_at or mapped.updated_at
    order.attributes = {**order.attributes, CANCELLED_MARK: when.isoformat() if when else True}


def _remember_update(order: OrderRow, mapped: ShopifyOrder) -> None:
    new = mapped.new
    if mapped.updated_at is not None and (
        order.source_updated_at is None or mapped.updated_at > order.source_updated_at
    ):
        order.source_updated_at = mapped.updated_at
        order.attributes = {**order.attributes, **new.attributes}


def _apply_update(uow: UnitOfWork, order: OrderRow, mapped: ShopifyOrder, catalogs: CatalogSet) -> None:
    new = mapped.new
    service.lock_work_orders(uow, order)  # a router may hold one; see its status once it is done
    order.source_updated_at = mapped.updated_at
    order.attributes = {**order.attributes, **new.attributes}
    order.email = new.email or order.email
    order.name = new.name or order.name
    order.total_price = new.total_price if new.total_price is not None else order.total_price
    if any(new.ship_to.as_dict().values()):
        order.ship_to = new.ship_to.as_dict()
        service.note_ship_to(order)
    live = [line for line in order.lines if line.status != LineStatus.CANCELLED.value]
    current = {line.external_id: line for line in live if line.external_id is not None}
    wanted = {line.external_id: line for line in new.lines if line.external_id is not None}
    changes: list[str] = []
    for line in live:  # the store's line set wins: a line it does not hold is not ordered
        if line.external_id is None or line.external_id not in wanted:
            service.withdraw_line(uow, order, line, "line item not in the Shopify order", ACTOR)
            changes.append(f"removed {line.external_id or line.id}")
    for external_id, wanted_line in wanted.items():
        existing = current.get(external_id)
        if existing is None:
            service.add_line(uow, order, wanted_line, catalogs)
            changes.append(f"added {external_id}")
        elif _differs(existing, wanted_line):
            if service.withdraw_line(uow, order, existing, "line item edited in Shopify", ACTOR):
                service.add_line(uow, order, wanted_line, catalogs)
            changes.append(f"edited {external_id}")
    reason = "updated in Shopify" + (f": {', '.join(changes)}" if changes else "")
    service.refresh_status(uow, order, reason=reason, actor=ACTOR)


def _differs(line: OrderLineRow, wanted: NewOrderLine) -> bool:
    """A real change to what is made: quantity, SKU, kind, or personalisation."""
    return (
        line.qty != wanted.qty
        or (line.sku or None) != (wanted.sku or None)
        or line.kind != wanted.kind.value
        or dict(line.properties or {}) != dict(wanted.properties)
    )
