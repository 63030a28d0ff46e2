"""microfactory as a Shopify fulfillment service (a location of the store).

Shopify sends `POST <callback>/fulfillment_order_notification` with `{"kind": "FULFILLMENT_REQUEST"}`
or `{"kind": "CANCELLATION_REQUEST"}` and nothing else: the service then asks the Admin API for the
fulfillment orders assigned to it in that state (`assignedFulfillmentOrders`) and accepts or rejects
each one. Rules: a fulfillment request is accepted when we hold the order (taking it in from the
Admin API first if its webhook has not arrived yet) and rejected when it is cancelled; a
cancellation request is accepted, and our order cancelled, only while no work on it has started.
Shopify also polls `GET <callback>/fetch_tracking_numbers` (signed over the query string, see
`verify.verify_query`); `tracking_numbers` answers it.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import desc, select
from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin
from microfactory.channels.shopify.mapping import CHANNEL
from microfactory.channels.shopify.order_sync import sync_order
from microfactory.db.base import utcnow
from microfactory.db.tables.channels import FulfillmentRequestRow, FulfilmentSyncRow
from microfactory.db.tables.orders import OrderLineRow, OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service
from microfactory.orders.lifecycle import LineStatus, OrderStatus, WorkOrderStatus, has_work_started

FULFILLMENT_REQUEST = "FULFILLMENT_REQUEST"
CANCELLATION_REQUEST = "CANCELLATION_REQUEST"
KINDS = {FULFILLMENT_REQUEST: "FULFILLMENT_REQUESTED", CANCELLATION_REQUEST: "CANCELLATION_REQUESTED"}
MAX_TRACKING_NAMES = 250  # names answered per fetch_tracking_numbers request
_FULFILLMENT_SUFFIX = re.compile(r"(.+)\.\d+")

ASSIGNED_QUERY = """
query AssignedFulfillmentOrders($status: FulfillmentOrderAssignmentStatus!, $after: String) {
  assignedFulfillmentOrders(first: 50, assignmentStatus: $status, after: $after) {
    edges { node { id status requestStatus order { id legacyResourceId name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
_ANSWER = """
mutation {name}($id: ID!, $message: String) {{
  {field}(id: $id, message: $message) {{
    fulfillmentOrder {{ id status requestStatus }}
    userErrors {{ field message }}
  }}
}}
"""
MUTATIONS = {
    (FULFILLMENT_REQUEST, True): ("AcceptFulfillmentRequest", "fulfillmentOrderAcceptFulfillmentRequest"),
    (FULFILLMENT_REQUEST, False): ("RejectFulfillmentRequest", "fulfillmentOrderRejectFulfillmentRequest"),
    (CANCELLATION_REQUEST, True): ("AcceptCancellationRequest", "fulfillmentOrderAcceptCancellationRequest"),
    (CANCELLATION_REQUEST, False): ("RejectCancellationRequest", "fulfillmentOrderRejectCancellationRequest"),
}
REGISTER = """
mutation FulfillmentServiceCreate($name: String!, $callbackUrl: URL!) {
  fulfillmentServiceCreate(name: $name, callbackUrl: $callbackUrl, trackingSupport: true,
                           inventoryManagement: false) {
    fulfillmentService { id serviceName callbackUrl location { id } }
    userErrors { field message }
  }
}
"""


@dataclass(frozen=True)
class FulfillmentRequestAnswer:
    fulfillment_order_id: str
    shopify_order_id: str | None
    accepted: bool | None  # None: left for later (nothing to decide yet)
    message: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def notification_kind(body: bytes) -> str | None:
    """The `kind` of a notification body, or None when it is not one we know."""
    try:
        payload = json.loads(body or b"{}")
    except ValueError:
        return None
    kind = payload.get("kind") if isinstance(payload, dict) else None
    return kind if kind in KINDS else None


def register(admin: ShopifyAdmin, callback_url: str, name: str = "microfactory") -> dict[str, Any]:
    """Create the fulfillment service (and with it its location) in the shop.

    `trackingSupport: true` makes Shopify poll `<callback>/fetch_tracking_numbers` (we answer it, and
    push tracking with every fulfillment anyway); `inventoryManagement: false` means Shopify never
    calls `<callback>/fetch_stock`, so we serve no such endpoint.
    """
    data = admin.graphql(REGISTER, {"name": name, "callbackUrl": callback_url}, mutation=True)
    payload = data["fulfillmentServiceCreate"]
    _raise_user_errors(payload, "fulfillmentServiceCreate")
    return dict(payload["fulfillmentService"])


def handle_notification(
    factory: sessionmaker[Session], admin: ShopifyAdmin, kind: str
) -> list[FulfillmentRequestAnswer]:
    """Answer every fulfillment order assigned to us that waits for an answer of this kind."""
    decisions = []
    for node in _assigned(admin, KINDS[kind]):
        fulfillment_order_id = str(node["id"])
        order = node.get("order") or {}
        shopify_order_id = str(order["legacyResourceId"]) if order.get("legacyResourceId") else None
        with UnitOfWork(factory) as uow:
            accepted, message = _decide(uow, admin, kind, shopify_order_id)
            uow.commit()
        if accepted is not None:
            name, field = MUTATIONS[(kind, accepted)]
            data = admin.graphql(
                _ANSWER.format(name=name, field=field),
                {"id": fulfillment_order_id, "message": message},
                mutation=True,
            )
            _raise_user_errors(data[field], field)
            with UnitOfWork(factory) as uow:
                _record(
                    uow, fulfillment_order_id, kind, shopify_order_id, order.get("name"), accepted, message
                )
                uow.commit()
        decisions.append(FulfillmentRequestAnswer(fulfillment_order_id, shopify_order_id, accepted, message))
    return decisions


def _assigned(admin: ShopifyAdmin, status: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        data = admin.graphql(ASSIGNED_QUERY, {"status": status, "after": after})
        connection = data["assignedFulfillmentOrders"]
        nodes.extend(edge["node"] for edge in connection["edges"])
        page = connection["pageInfo"]
        if not page.get("hasNextPage"):
            return nodes
        after = page["endCursor"]


def _decide(
    uow: UnitOfWork, admin: ShopifyAdmin, kind: str, shopify_order_id: str | None
) -> tuple[bool | None, str]:
    order = service.find_order(uow, CHANNEL, shopify_order_id) if shopify_order_id else None
    if kind == FULFILLMENT_REQUEST:
        if order is None and shopify_order_id:
            order = _take_in(uow, admin, shopify_order_id)
        if order is None:
            return None, "order not known yet; left for the next notification"
        if order.status == OrderStatus.CANCELLED.value:
            return False, f"order {order.name or order.external_id} is cancelled in microfactory"
        return True, f"accepted by microfactory as {order.id}"
    if order is None:
        return True, "microfactory holds no work for this order"
    started = [line.id for line in order.lines if _started(line)]
    if started:
        return False, f"production has started on {len(started)} line(s); cannot cancel"
    service.cancel_order(uow, order.id, "fulfillment cancellation requested in Shopify", actor="shopify")
    return True, "cancelled in microfactory before work started"


def _started(line: OrderLineRow) -> bool:
    work_order = line.work_order
    return has_work_started(
        LineStatus(line.status), WorkOrderStatus(work_order.status) if work_order is not None else None
    )


def _take_in(uow: UnitOfWork, admin: ShopifyAdmin, shopify_order_id: str) -> OrderRow | None:
    """The webhook may not have arrived yet: fetch the order itself (GraphQL `order`, handed back as
    the webhook's JSON, so it is taken in exactly as its webhook would be)."""
    try:
        payload = admin.order(shopify_order_id)
    except AdminApiError:
        return None
    if payload is None:
        return None
    outcome = sync_order(uow, payload)
    return service.get_order(uow, outcome.order_id)


def _record(
    uow: UnitOfWork, fo_id: str, kind: str, order_id: str | None, name: Any, accepted: bool, message: str
) -> None:
    row = uow.session.scalar(
        select(FulfillmentRequestRow).where(
            FulfillmentRequestRow.fulfillment_order_id == fo_id, FulfillmentRequestRow.kind == kind
        )
    )
    if row is None:
        row = FulfillmentRequestRow(fulfillment_order_id=fo_id, kind=kind)
        uow.session.add(row)
    row.shopify_order_id = order_id
    row.order_name = str(name)[:120] if name else None
    row.decision = "accepted" if accepted else "rejected"
    row.message = message
    row.decided_at = utcnow()


def tracking_numbers(uow: UnitOfWork, names: list[str]) -> dict[str, Any]:
    """Shopify's `fetch_tracking_numbers` answer: fulfillment name (`#1001.1`) to tracking number.

    The shape is the documented one (REST FulfillmentService, "fetch_tracking_numbers"). A name we
    hold no tracking number for is left out rather than answered with null: Shopify documents only
    strings as values, and Shopify's own ActiveFulfillment library treats an order not found as
    success with no entry. Shopify asks again at its next hourly poll.
    """
    found: dict[str, str] = {}
    for name in names[:MAX_TRACKING_NAMES]:
        number = _tracking_number_of(uow, name) or _latest_tracking_number(uow, _order_name(name))
        if number:
            found[name] = number
    return {
        "tracking_numbers": found,
        "message": "Successfully received the tracking numbers",
        "success": True,
    }


def _order_name(fulfillment_name: str) -> str:
    """`#1001.1` → `#1001`: a fulfillment is named after its order plus `.N`; dots elsewhere stay."""
    match = _FULFILLMENT_SUFFIX.fullmatch(fulfillment_name)
    return match.group(1) if match else fulfillment_name


def _tracking_number_of(uow: UnitOfWork, fulfillment_name: str) -> str | None:
    """The number of the parcel Shopify named so when we created its fulfillment (`#1042.2`)."""
    return uow.session.scalar(
        select(FulfilmentSyncRow.tracking_number)
        .where(FulfilmentSyncRow.shopify_fulfillment_name == fulfillment_name[:120])
        .limit(1)
    )


def _latest_tracking_number(uow: UnitOfWork, order_name: str) -> str | None:
    """The newest parcel's number, for a fulfillment whose name we never learnt (created elsewhere,
    or before names were kept): Shopify numbers all of an order's fulfillments, ours and others."""
    return uow.session.scalar(
        select(FulfilmentSyncRow.tracking_number)
        .where(FulfilmentSyncRow.order_name == order_name[:120])
        .order_by(desc(FulfilmentSyncRow.created_at))
        .limit(1)
    )


def _raise_user_errors(payload: Any, what: str) -> None:
    errors = (payload or {}).get("userErrors") or []
    if errors:
        text = "; ".join(f"{'.'.join(e.get('field') or [])}: {e.get('message')}" for e in errors)
        raise AdminApiError(f"{what} refused: {text}")
