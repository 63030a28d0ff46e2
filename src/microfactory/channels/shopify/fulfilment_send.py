"""Create one parcel's Shopify fulfillment, safely repeatable: read the order's state first, then create.

Before every attempt the order's fulfillments are read, and one that already carries the parcel's
tracking number counts as done: so a retry after a timeout, a crash between Shopify's answer and
our commit, or a second worker never fulfils twice. A parcel that names its lines fulfils exactly
those quantities, on the fulfillment order line items whose `lineItem` is the line's Shopify line
item; a parcel without lines fulfils everything still open. Asking for more than Shopify has left
is refused (`ShipmentMismatch`), never fulfilled anyway.

`parcel` is the outbox payload that `fulfilment_sync.queue_shipment` writes: `shopify_order_id`,
`tracking_number`, `company`, `url`, `lines` ([{"line_id", "qty", "line_item_id"}] or None).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from microfactory.channels.shopify.admin import AdminApiError, ShopifyAdmin

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


class ShipmentMismatch(AdminApiError):
    """Shopify has less left to fulfil than the parcel holds: refused, so nothing is fulfilled twice.

    An `AdminApiError`, so the parcel waits with the reason and fails after its attempts are spent,
    like any other answer from Shopify that keeps the fulfillment from being created.
    """


def create_fulfillment(admin: ShopifyAdmin, parcel: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """(the fulfillment's id and name, whether it already existed): check first, then create."""
    state = (admin.graphql(ORDER_STATE, {"id": parcel["shopify_order_id"]}) or {}).get("order")
    if state is None:
        raise AdminApiError(f"Shopify does not know order {parcel['shopify_order_id']}")
    for fulfillment in state.get("fulfillments") or []:
        numbers = {info.get("number") for info in fulfillment.get("trackingInfo") or []}
        if parcel["tracking_number"] in numbers:
            return fulfillment, True
    open_orders = _open_fulfillment_orders(state)
    if parcel.get("lines") is None:
        if not open_orders:
            raise AdminApiError(f"order {state.get('name')} has nothing left to fulfil in Shopify")
        by_fulfillment_order = [{"fulfillmentOrderId": node["id"]} for node in open_orders]
    else:
        by_fulfillment_order = _chosen_line_items(parcel["lines"], open_orders)
    tracking: dict[str, Any] = {"number": parcel["tracking_number"]}
    if parcel.get("company"):
        tracking["company"] = parcel["company"]
    if parcel.get("url"):
        tracking["url"] = parcel["url"]
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
