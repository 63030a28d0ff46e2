"""Tell Shopify when a shipment is handed off: a fulfillment with tracking number, company and URL.

A shipment is a parcel record (`FulfilmentSyncRow`, what the API shows; its idempotency key is
unique within its order, so asking twice is a no-op) and, in the same transaction, an outbox message
of kind `shopify.fulfilment` (decision 0007). The outbox dispatcher claims the message, so two
runs never send one parcel at once, and calls `fulfilment_handler`, which creates the fulfillment
through the Admin GraphQL API (`fulfilment_send`: read Shopify's state first, then create) and
records the fulfillment's id and name on the parcel. `sync_pending` is that dispatch for this kind.

An order may leave in several parcels (a keypad made in Berlin, a cable shipped from stock): a
shipment then names its lines, (our order line id, quantity), and exactly those quantities are
fulfilled. A shipment without lines fulfils everything still open. Asking for more than Shopify has
left is refused and kept visible (`last_error`), never fulfilled anyway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin
from microfactory.channels.shopify.fulfilment_send import (
    CREATE,
    ORDER_STATE,
    ShipmentMismatch,
    create_fulfillment,
)
from microfactory.channels.shopify.mapping import CHANNEL
from microfactory.channels.shopify.shipment_request import ShipmentRequest, check_shipment
from microfactory.channels.shopify.shipping import NotMade, ship_lines
from microfactory.db.base import new_id
from microfactory.db.tables.channels import FulfilmentSyncRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid, UpstreamFailure
from microfactory.orders import service
from microfactory.orders.model import LineStatus
from microfactory.outbox.claim import Message
from microfactory.outbox.dispatcher import Handler, Handlers, Outcome, dispatch_due
from microfactory.outbox.model import Backoff, MessageStatus
from microfactory.outbox.store import enqueue
from microfactory.problems import Problem

# re-exported for callers: from fulfilment_send, shipment_request and shipping
__all__ = ["CREATE", "ORDER_STATE", "NotMade", "ShipmentMismatch", "ShipmentRequest"]

KIND = "shopify.fulfilment"
PENDING, SENT, FAILED, UNKNOWN = "pending", "sent", "failed", "unknown"
MAX_ATTEMPTS = 8
BACKOFF = Backoff(base_seconds=30, cap_seconds=3600, max_attempts=MAX_ATTEMPTS)
# The parcel's status for each outcome of its outbox message.
PARCEL_STATUS = {
    MessageStatus.DONE: SENT,
    MessageStatus.FAILED: PENDING,
    MessageStatus.DEAD: FAILED,
    MessageStatus.UNKNOWN_OUTCOME: UNKNOWN,
}


class NotAShopifyOrder(Conflict):
    """Only an order that came from Shopify can be reported back to Shopify."""


class ShipmentRefused(Invalid):
    """The shipment's lines do not fit the order (unknown line, quantity out of range): nothing is queued."""


class ShipmentDiffers(Conflict):
    """The idempotency key was used before for another parcel."""


@dataclass(frozen=True)
class ShipmentLine:
    """One of our order lines in a parcel, and how many of it the parcel holds."""

    line_id: str
    qty: int


class Queued(NamedTuple):
    row: FulfilmentSyncRow
    created: bool  # False: the same key was queued before, and `row` is that shipment


def queue_shipment(
    uow: UnitOfWork,
    order_id: str,
    tracking_number: str,
    company: str | None = None,
    url: str | None = None,
    idempotency_key: str | None = None,
    lines: Sequence[ShipmentLine] | None = None,
    *,
    override_reason: str | None = None,
    actor: str = "operator",
) -> Queued:
    """Record the parcel and its `shopify.fulfilment` outbox message in the caller's transaction,
    once per idempotency key within the order: the API answers 201 for a new shipment, 200 for a repeat.

    The default key holds the tracking number, so two parcels of one order are two shipments, and
    sending the same parcel again is the same one; the same key with other content is a `Conflict`
    naming the difference. The request is checked here (`check_shipment`), for the API and the CLI
    alike, and lines against the order, so a mistyped line id is refused at once. The parcel's lines
    move to shipped (`ship_lines`): their work must be made, unless a person gives `override_reason`.
    """
    request = check_shipment(tracking_number, company, url, idempotency_key, override_reason)
    order = service.get_order(uow, order_id)
    if order.channel != CHANNEL:
        raise NotAShopifyOrder(f"order {order_id} came from {order.channel}, not from Shopify")
    key = (request.idempotency_key or f"{order_id}:{request.tracking_number}")[:120]
    existing = _shipment_by_key(uow, order.id, key)
    if existing is not None:
        _check_same_shipment(existing, request, None if lines is None else _wanted(lines))
        return Queued(existing, False)
    stored_lines = None if lines is None else _stored_lines(order, lines)
    ship_lines(uow, order, stored_lines, key, request.override_reason, actor)
    row = FulfilmentSyncRow(
        id=new_id("ffs"),
        idempotency_key=key,
        order_id=order.id,
        shopify_order_id=str(
            order.attributes.get("admin_graphql_api_id") or f"gid://shopify/Order/{order.external_id}"
        ),
        order_name=order.name,
        tracking_number=request.tracking_number,
        tracking_company=request.company,
        tracking_url=request.url,
        lines=stored_lines,
        status=PENDING,
        attempts=0,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
            uow.session.flush()
            enqueue(uow, KIND, row.id, parcel(row))
    except IntegrityError:  # queued concurrently under the same key
        found = _shipment_by_key(uow, order.id, key)
        if found is None:
            raise
        return Queued(found, False)
    return Queued(row, True)


def _wanted(lines: Sequence[ShipmentLine]) -> list[list[Any]]:
    return [[line.line_id, line.qty] for line in lines]


def _check_same_shipment(
    row: FulfilmentSyncRow, request: ShipmentRequest, lines: list[list[Any]] | None
) -> None:
    """A repeat under a key must be the same parcel; otherwise name what differs (409).

    A repeat may leave out the company or URL (it does not say otherwise); lines it names, or leaves
    out, must be the parcel's.
    """
    stored = None if row.lines is None else [[entry["line_id"], entry["qty"]] for entry in row.lines]
    found = [
        f"{name}: {before!r} before, {now!r} now"
        for name, before, now, optional in (
            ("tracking_number", row.tracking_number, request.tracking_number, False),
            ("company", row.tracking_company, request.company, True),
            ("url", row.tracking_url, request.url, True),
            ("lines", stored, lines, False),
        )
        if before != now and not (optional and now is None)
    ]
    if found:
        raise ShipmentDiffers(
            f"shipment {row.idempotency_key!r} was queued before ({row.id}) with other content: "
            + "; ".join(found)
        )


def _shipment_by_key(uow: UnitOfWork, order_id: str, key: str) -> FulfilmentSyncRow | None:
    """Keys are scoped to their order: two orders may each have a parcel keyed `parcel-1`."""
    query = select(FulfilmentSyncRow).where(
        FulfilmentSyncRow.order_id == order_id, FulfilmentSyncRow.idempotency_key == key
    )
    return uow.session.scalar(query)


def parcel(row: FulfilmentSyncRow) -> dict[str, Any]:
    """The outbox payload: everything the handler needs to fulfil the parcel without our database."""
    return {
        "shipment_id": row.id,
        "shopify_order_id": row.shopify_order_id,
        "order_name": row.order_name,
        "tracking_number": row.tracking_number,
        "company": row.tracking_company,
        "url": row.tracking_url,
        "lines": row.lines,
    }


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


def fulfilment_handler(admin: ShopifyAdmin) -> Handler:
    """The outbox handler of `shopify.fulfilment`: create the parcel's fulfillment, record it on the parcel."""

    def send(message: Message) -> dict[str, Any]:
        try:
            fulfillment, existed = create_fulfillment(admin, message.payload)
        except AdminApiError as error:  # safe to retry: the next attempt reads Shopify's state first
            raise UpstreamFailure("Shopify", str(error)) from error
        return {
            "fulfillment_id": str(fulfillment["id"]),
            "fulfillment_name": _text(fulfillment.get("name")),
            "existed": existed,
        }

    return Handler(send=send, record=_record_on_parcel, backoff=BACKOFF)


def _record_on_parcel(uow: UnitOfWork, outcome: Outcome) -> None:
    """Mirror the message's outcome on the parcel record the API shows."""
    row = uow.session.get(FulfilmentSyncRow, outcome.message.payload["shipment_id"])
    if row is None:
        return
    row.status = PARCEL_STATUS.get(outcome.status, row.status)
    row.attempts = outcome.message.attempts
    if outcome.status == MessageStatus.DONE and outcome.result is not None:
        row.shopify_fulfillment_id = outcome.result["fulfillment_id"]
        row.shopify_fulfillment_name = outcome.result["fulfillment_name"]
        row.last_error = None
    else:
        row.last_error = outcome.error


def sync_pending(
    factory: sessionmaker[Session],
    admin: ShopifyAdmin,
    limit: int = 200,
    progress: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Send every waiting shipment now, backoff or not: what a person running a sync asks for.

    The outbox dispatch of `shopify.fulfilment`; failures wait until `MAX_ATTEMPTS` are spent.
    `progress(done, total)` is called before each shipment and once when all are done.
    """
    handlers = Handlers({KIND: fulfilment_handler(admin)})
    dispatched = dispatch_due(
        factory, handlers, kinds=[KIND], limit=limit, ignore_backoff=True, progress=progress
    )
    report = SyncReport()
    for outcome in dispatched.outcomes:
        if not outcome.recorded:
            continue
        if outcome.status == MessageStatus.DONE:
            if outcome.result and outcome.result.get("existed"):
                report.already_there += 1
            else:
                report.sent += 1
            continue
        if outcome.status == MessageStatus.FAILED:
            report.pending += 1
        else:
            report.failed += 1
        payload = outcome.message.payload
        report.errors.append(f"{payload.get('order_name') or payload['shipment_id']}: {outcome.error}")
    return report


def _text(value: object) -> str | None:
    """Shopify's fulfillment name (`#1042.2`), which its `fetch_tracking_numbers` asks by."""
    return str(value)[:120] if value else None


def recent_shipments(uow: UnitOfWork, limit: int = 100) -> list[FulfilmentSyncRow]:
    """The parcels recorded last, of every order, newest first (the operator's shipments page)."""
    query = select(FulfilmentSyncRow).order_by(FulfilmentSyncRow.created_at.desc(), FulfilmentSyncRow.id)
    return list(uow.session.scalars(query.limit(limit)))
