"""Tell Shopify when a shipment is handed off: a fulfillment with tracking number, company and URL.

A shipment becomes a `FulfilmentSyncRow` first (unique idempotency key: asking twice is a no-op),
then `sync_pending` creates the fulfillment through the Admin GraphQL API (`fulfillmentCreate`).
Before every attempt it reads the order's fulfillments, and one that already carries our tracking
number counts as done: so a retry after a timeout, a crash between Shopify's answer and our commit,
or a second worker never fulfils twice.

An order may leave in several parcels (a keypad made in Berlin, a cable shipped from stock): a
shipment then names its lines, (our order line id, quantity), and exactly those quantities are
fulfilled, on the fulfillment order line items whose `lineItem` is the line's Shopify line item.
A shipment without lines fulfils everything still open. Asking for more than Shopify has left is
refused and kept visible (`last_error`), never fulfilled anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin
from microfactory.channels.shopify.mapping import CHANNEL
from microfactory.db.base import new_id
from microfactory.db.tables.channels import FulfilmentSyncRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid
from microfactory.orders import service
from microfactory.orders.model import LineStatus
from microfactory.problems import Problem

PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 8
OPEN_STATUSES = {"OPEN", "IN_PROGRESS"}

ORDER_STATE = """
query OrderFulfillmentState($id: ID!) {
  order(id: $id) {
    id
    name
    fulfillments(first: 50) { id name status trackingInfo(first: 10) { number company url } }
    fulfillmentOrders(first: 50) {
      nodes { id status lineItems(first: 100) { nodes { id remainingQuantity lineItem { id } } } }
    }
  }
}
"""
CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id name status }
    userErrors { field message }
  }
}
"""


class NotAShopifyOrder(ValueError):
    pass


class ShipmentRefused(Invalid):
    """The shipment's lines do not fit the order (unknown line, quantity out of range): nothing is queued."""


class ShipmentMismatch(AdminApiError):
    """Shopify has less left to fulfil than the parcel holds: refused, so nothing is fulfilled twice.

    An `AdminApiError`, so the row stays pending with the reason and fails after `MAX_ATTEMPTS`, like
    any other answer from Shopify that keeps the fulfillment from being created.
    """


@dataclass(frozen=True)
class ShipmentLine:
    """One of our order lines in a parcel, and how many of it the parcel holds."""

    line_id: str
    qty: int


class Queued(NamedTuple):
    row: FulfilmentSyncRow
    created: bool  # False: the same key was queued before, and `row` is that shipment


def check_tracking_url(url: str | None) -> None:
    """Shopify shows the tracking URL to the customer as a link: only an https URL to a host is taken.

    A `javascript:` or `data:` URL would run in the customer's browser; plain http can be altered
    on the way. `Invalid` names the field.
    """
    if url is None:
        return
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname or any(c.isspace() for c in url):
        raise Invalid("the tracking URL is refused", [Problem("url", "must be an https:// URL with a host")])


def queue_shipment(
    uow: UnitOfWork,
    order_id: str,
    tracking_number: str,
    company: str | None = None,
    url: str | None = None,
    idempotency_key: str | None = None,
    lines: Sequence[ShipmentLine] | None = None,
) -> Queued:
    """Queue the shipment for Shopify, once per idempotency key: the API answers 201 for a new
    shipment, 200 for a repeat.

    The default key holds the tracking number, so two parcels of one order are two shipments, and
    sending the same parcel again is the same one. Lines are checked against the order here, so a
    mistyped line id is refused to the caller at once instead of failing later in the worker.
    """
    check_tracking_url(url)
    order = service.get_order(uow, order_id)
    if order.channel != CHANNEL:
        raise NotAShopifyOrder(f"order {order_id} came from {order.channel}, not from Shopify")
    key = (idempotency_key or f"{order_id}:{tracking_number}")[:120]
    existing = uow.session.scalar(select(FulfilmentSyncRow).where(FulfilmentSyncRow.idempotency_key == key))
    if existing is not None:
        return Queued(existing, False)
    stored_lines = None if lines is None else _stored_lines(order, lines)
    row = FulfilmentSyncRow(
        id=new_id("ffs"),
        idempotency_key=key,
        order_id=order.id,
        shopify_order_id=str(
            order.attributes.get("admin_graphql_api_id") or f"gid://shopify/Order/{order.external_id}"
        ),
        order_name=order.name,
        tracking_number=tracking_number[:120],
        tracking_company=company,
        tracking_url=url,
        lines=stored_lines,
        status=PENDING,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:  # queued concurrently under the same key
        found = uow.session.scalar(select(FulfilmentSyncRow).where(FulfilmentSyncRow.idempotency_key == key))
        if found is None:
            raise
        return Queued(found, False)
    return Queued(row, True)


def line_item_gid(external_id: str) -> str:
    """The Admin GraphQL id of a Shopify line item: intake keeps the numeric id as the line's external id."""
    return external_id if external_id.startswith("gid://") else f"gid://shopify/LineItem/{external_id}"


def _stored_lines(order: OrderRow, lines: Sequence[ShipmentLine]) -> list[dict[str, Any]]:
    """The lines as stored on the row, with their Shopify line items; every problem by place."""
    by_id = {line.id: line for line in order.lines}
    problems: list[Problem] = []
    if not lines:
        problems.append(Problem("lines", "a shipment that names its lines needs at least one"))
    stored: list[dict[str, Any]] = []
    for index, wanted in enumerate(lines):
        path = f"lines[{index}]"
        line = by_id.get(wanted.line_id)
        if line is None:
            problems.append(
                Problem(f"{path}.line_id", f"line {wanted.line_id} is not a line of order {order.id}")
            )
        elif any(entry["line_id"] == line.id for entry in stored):
            problems.append(Problem(f"{path}.line_id", f"line {line.id} is named twice"))
        elif line.status == LineStatus.CANCELLED:
            problems.append(Problem(f"{path}.line_id", f"line {line.id} is cancelled: it does not ship"))
        elif not line.external_id:
            problems.append(
                Problem(
                    f"{path}.line_id", f"line {line.id} has no Shopify line item, so Shopify cannot be told"
                )
            )
        elif wanted.qty < 1 or wanted.qty > line.qty:
            problems.append(
                Problem(
                    f"{path}.qty", f"qty {wanted.qty} of line {line.id} is not between 1 and its {line.qty}"
                )
            )
        else:
            stored.append(
                {"line_id": line.id, "qty": wanted.qty, "line_item_id": line_item_gid(line.external_id)}
            )
    if problems:
        raise ShipmentRefused(f"the shipment does not fit order {order.id}", problems)
    return stored


def shipment_view(row: FulfilmentSyncRow) -> dict[str, Any]:
    """A queued shipment as JSON (API and CLI): what it holds and how far it got with Shopify."""
    return {
        "id": row.id,
        "order_id": row.order_id,
        "idempotency_key": row.idempotency_key,
        "tracking_number": row.tracking_number,
        "company": row.tracking_company,
        "url": row.tracking_url,
        "lines": [{"line_id": entry["line_id"], "qty": entry["qty"]} for entry in row.lines]
        if row.lines is not None
        else None,
        "status": row.status,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "shopify_fulfillment_id": row.shopify_fulfillment_id,
        "shopify_fulfillment_name": row.shopify_fulfillment_name,
        "created_at": row.created_at.isoformat() if row.created_at is not None else None,
    }


def list_shipments(uow: UnitOfWork, order_id: str) -> list[FulfilmentSyncRow]:
    """The order's shipments, oldest first; `OrderNotFound` for an unknown order."""
    service.get_order(uow, order_id)
    query = select(FulfilmentSyncRow).where(FulfilmentSyncRow.order_id == order_id)
    return list(uow.session.scalars(query.order_by(FulfilmentSyncRow.created_at, FulfilmentSyncRow.id)))


@dataclass
class SyncReport:
    sent: int = 0
    already_there: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)


def sync_pending(
    factory: sessionmaker[Session],
    admin: ShopifyAdmin,
    limit: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Create the fulfillments of every pending shipment; failures stay pending until MAX_ATTEMPTS.

    `progress(done, total)` is called before each shipment and once when all are done.
    """
    report = SyncReport()
    with UnitOfWork(factory) as uow:
        ids = list(
            uow.session.scalars(
                select(FulfilmentSyncRow.id)
                .where(FulfilmentSyncRow.status == PENDING)
                .order_by(FulfilmentSyncRow.created_at)
                .limit(limit)
            )
        )
    for done, sync_id in enumerate(ids):
        if progress is not None:
            progress(done, len(ids))
        with UnitOfWork(factory) as uow:
            row = uow.session.get(FulfilmentSyncRow, sync_id)
            if row is None or row.status != PENDING:
                continue
            row.attempts += 1
            try:
                fulfillment, existed = _sync_one(admin, row)
            except AdminApiError as error:
                row.last_error = str(error)[:4000]
                if row.attempts >= MAX_ATTEMPTS:
                    row.status = FAILED
                    report.failed += 1
                else:
                    report.pending += 1
                report.errors.append(f"{row.order_name or row.order_id}: {error}")
            else:
                row.status = SENT
                row.shopify_fulfillment_id = str(fulfillment["id"])
                row.shopify_fulfillment_name = _text(fulfillment.get("name"))
                row.last_error = None
                if existed:
                    report.already_there += 1
                else:
                    report.sent += 1
            uow.commit()
    if progress is not None:
        progress(len(ids), len(ids))
    return report


def _sync_one(admin: ShopifyAdmin, row: FulfilmentSyncRow) -> tuple[dict[str, Any], bool]:
    """(the fulfillment's id and name, whether it already existed): check first, then create."""
    state = (admin.graphql(ORDER_STATE, {"id": row.shopify_order_id}) or {}).get("order")
    if state is None:
        raise AdminApiError(f"Shopify does not know order {row.shopify_order_id}")
    for fulfillment in state.get("fulfillments") or []:
        numbers = {info.get("number") for info in fulfillment.get("trackingInfo") or []}
        if row.tracking_number in numbers:
            return fulfillment, True
    open_orders = _open_fulfillment_orders(state)
    if row.lines is None:
        if not open_orders:
            raise AdminApiError(f"order {state.get('name')} has nothing left to fulfil in Shopify")
        by_fulfillment_order = [{"fulfillmentOrderId": node["id"]} for node in open_orders]
    else:
        by_fulfillment_order = _chosen_line_items(row.lines, open_orders)
    tracking: dict[str, Any] = {"number": row.tracking_number}
    if row.tracking_company:
        tracking["company"] = row.tracking_company
    if row.tracking_url:
        tracking["url"] = row.tracking_url
    fulfillment_input = {
        "lineItemsByFulfillmentOrder": by_fulfillment_order,
        "trackingInfo": tracking,
        "notifyCustomer": True,
    }
    data = admin.graphql(CREATE, {"fulfillment": fulfillment_input}, mutation=True)
    payload = data["fulfillmentCreate"]
    errors = payload.get("userErrors") or []
    if errors:
        raise AdminApiError("fulfillmentCreate refused: " + "; ".join(str(e.get("message")) for e in errors))
    return dict(payload["fulfillment"]), False


def _text(value: object) -> str | None:
    """Shopify's fulfillment name (`#1042.2`), which its `fetch_tracking_numbers` asks by."""
    return str(value)[:120] if value else None


def _open_fulfillment_orders(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's fulfillment orders that can still be fulfilled: open, with something remaining."""
    return [
        node
        for node in (state.get("fulfillmentOrders") or {}).get("nodes", [])
        if node.get("status") in OPEN_STATUSES
        and any(_remaining(item) > 0 for item in (node.get("lineItems") or {}).get("nodes", []))
    ]


def _chosen_line_items(
    lines: list[dict[str, Any]], open_orders: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """`lineItemsByFulfillmentOrder` for exactly the parcel's quantities, or `ShipmentMismatch`.

    A line item may sit in several fulfillment orders (Shopify splits them by location), so its
    quantity is taken from each in turn. Everything is checked before anything is sent.
    """
    slots: dict[str, list[tuple[str, dict[str, Any]]]] = {}  # line item gid -> (FO id, FO line item)
    for node in open_orders:
        for item in (node.get("lineItems") or {}).get("nodes", []):
            line_item = (item.get("lineItem") or {}).get("id")
            if line_item:
                slots.setdefault(str(line_item), []).append((str(node["id"]), item))
    chosen: dict[str, dict[str, int]] = {}  # FO id -> FO line item id -> quantity
    problems: list[str] = []
    for entry in lines:
        found = slots.get(entry["line_item_id"], [])
        left = sum(_remaining(item) - chosen.get(fo, {}).get(item["id"], 0) for fo, item in found)
        if not found:
            problems.append(
                f"line {entry['line_id']} is in no open fulfillment order in Shopify"
                " (fulfilled already, or not for this app to fulfil)"
            )
        elif left < entry["qty"]:
            problems.append(
                f"line {entry['line_id']}: {entry['qty']} to ship but Shopify has {left} left to fulfil"
            )
        else:
            _take(entry["qty"], found, chosen)
    if problems:
        raise ShipmentMismatch("refused, nothing fulfilled: " + "; ".join(problems))
    return [
        {
            "fulfillmentOrderId": fo_id,
            "fulfillmentOrderLineItems": [{"id": item_id, "quantity": qty} for item_id, qty in items.items()],
        }
        for fo_id, items in chosen.items()
    ]


def _take(qty: int, found: list[tuple[str, dict[str, Any]]], chosen: dict[str, dict[str, int]]) -> None:
    """Take `qty` from the fulfillment order line items in `found`, first come first taken."""
    for fo_id, item in found:
        share = min(qty, _remaining(item) - chosen.get(fo_id, {}).get(item["id"], 0))
        if share > 0:  # never an empty list: Shopify reads a blank one as "the whole fulfillment order"
            taken = chosen.setdefault(fo_id, {})
            taken[item["id"]] = taken.get(item["id"], 0) + share
            qty -= share
        if qty == 0:
            return


def _remaining(item: dict[str, Any]) -> int:
    value = item.get("remainingQuantity")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
