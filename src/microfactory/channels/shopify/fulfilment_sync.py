"""Tell Shopify when a shipment is handed off: a fulfillment with tracking number, company and URL.

A shipment becomes a `FulfilmentSyncRow` first (unique idempotency key: asking twice is a no-op),
then `sync_pending` creates the fulfillment through the Admin GraphQL API (`fulfillmentCreate` on
the order's open fulfillment orders). Before every attempt it reads the order's fulfillments, and
one that already carries our tracking number counts as done: so a retry after a timeout, a crash
between Shopify's answer and our commit, or a second worker never fulfils twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin
from microfactory.channels.shopify.mapping import CHANNEL
from microfactory.db.base import new_id
from microfactory.db.tables.channels import FulfilmentSyncRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service

PENDING, SENT, FAILED = "pending", "sent", "failed"
MAX_ATTEMPTS = 8
OPEN_STATUSES = {"OPEN", "IN_PROGRESS"}

ORDER_STATE = """
query OrderFulfillmentState($id: ID!) {
  order(id: $id) {
    id
    name
    fulfillments(first: 50) { id status trackingInfo(first: 10) { number company url } }
    fulfillmentOrders(first: 50) {
      nodes { id status lineItems(first: 100) { nodes { id remainingQuantity } } }
    }
  }
}
"""
CREATE = """
mutation FulfillmentCreate($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status }
    userErrors { field message }
  }
}
"""


class NotAShopifyOrder(ValueError):
    pass


def request_fulfilment(
    uow: UnitOfWork,
    order_id: str,
    tracking_number: str,
    company: str | None = None,
    url: str | None = None,
    idempotency_key: str | None = None,
) -> FulfilmentSyncRow:
    """Queue the shipment for Shopify; the same key (default: order and tracking number) is queued once."""
    order = service.get_order(uow, order_id)
    if order.channel != CHANNEL:
        raise NotAShopifyOrder(f"order {order_id} came from {order.channel}, not from Shopify")
    key = (idempotency_key or f"{order_id}:{tracking_number}")[:120]
    existing = uow.session.scalar(select(FulfilmentSyncRow).where(FulfilmentSyncRow.idempotency_key == key))
    if existing is not None:
        return existing
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
        status=PENDING,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:  # queued concurrently under the same key
        found = uow.session.scalar(select(FulfilmentSyncRow).where(FulfilmentSyncRow.idempotency_key == key))
        if found is None:
            raise
        return found
    return row


@dataclass
class SyncReport:
    sent: int = 0
    already_there: int = 0
    failed: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)


def sync_pending(factory: sessionmaker[Session], admin: ShopifyAdmin, limit: int = 200) -> SyncReport:
    """Create the fulfillments of every pending shipment; failures stay pending until MAX_ATTEMPTS."""
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
    for sync_id in ids:
        with UnitOfWork(factory) as uow:
            row = uow.session.get(FulfilmentSyncRow, sync_id)
            if row is None or row.status != PENDING:
                continue
            row.attempts += 1
            try:
                fulfillment_id, existed = _sync_one(admin, row)
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
                row.shopify_fulfillment_id = fulfillment_id
                row.last_error = None
                if existed:
                    report.already_there += 1
                else:
                    report.sent += 1
            uow.commit()
    return report


def _sync_one(admin: ShopifyAdmin, row: FulfilmentSyncRow) -> tuple[str | None, bool]:
    """(fulfillment id, whether it already existed): check first, then create."""
    state = (admin.graphql(ORDER_STATE, {"id": row.shopify_order_id}) or {}).get("order")
    if state is None:
        raise AdminApiError(f"Shopify does not know order {row.shopify_order_id}")
    for fulfillment in state.get("fulfillments") or []:
        numbers = {info.get("number") for info in fulfillment.get("trackingInfo") or []}
        if row.tracking_number in numbers:
            return str(fulfillment["id"]), True
    open_orders = [
        node["id"]
        for node in (state.get("fulfillmentOrders") or {}).get("nodes", [])
        if node.get("status") in OPEN_STATUSES
        and any(
            item.get("remainingQuantity", 0) > 0 for item in (node.get("lineItems") or {}).get("nodes", [])
        )
    ]
    if not open_orders:
        raise AdminApiError(f"order {state.get('name')} has nothing left to fulfil in Shopify")
    tracking: dict[str, Any] = {"number": row.tracking_number}
    if row.tracking_company:
        tracking["company"] = row.tracking_company
    if row.tracking_url:
        tracking["url"] = row.tracking_url
    fulfillment_input = {
        "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": fo_id} for fo_id in open_orders],
        "trackingInfo": tracking,
        "notifyCustomer": True,
    }
    data = admin.graphql(CREATE, {"fulfillment": fulfillment_input}, mutation=True)
    payload = data["fulfillmentCreate"]
    errors = payload.get("userErrors") or []
    if errors:
        raise AdminApiError("fulfillmentCreate refused: " + "; ".join(str(e.get("message")) for e in errors))
    return str(payload["fulfillment"]["id"]), False
