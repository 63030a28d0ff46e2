"""Orders from the Admin GraphQL API, turned into the JSON Shopify's order webhooks carry.

Why: the REST Admin API is legacy since 2024-10 and new public apps must use GraphQL only, but every
order must still go through `order_sync.sync_order`, which reads webhook (REST-shaped) payloads so
that webhooks, reconciliation and the fulfillment service stay one code path. The queries below ask
for what `mapping.map_order` reads, and `webhook_payload` writes it the way a webhook would:

- ids are the webhook's numbers (`Order.legacyResourceId`; a `LineItem` has no legacy id, so the
  number at the end of its GID, which is the same id), and `admin_graphql_api_id` keeps the GID;
- money is the shop-currency amount (`shopMoney`, as webhooks' `total_price`), written with at least
  two decimals ("134.90"; GraphQL's `Decimal` may give "134.9");
- line item `properties` are `[{"name", "value"}]` from `customAttributes {key value}`;
- enums are lower-cased the way REST writes them, `tags` joined with ", ";
- times stay as GraphQL gives them (UTC): the same instant as the webhook's, not the same offset.

Known difference: GraphQL's `currentQuantity` excludes refunded units as well as removed ones, while
a webhook's `current_quantity` excludes only removals; an order read here after a refund therefore
no longer asks for the refunded units.

Line items come in pages. `webhook_payload` refuses (`IncompleteOrder`) an order whose line items
were not all fetched, so no order is ever taken in with lines silently missing; the caller pages
them with `LINE_ITEMS_QUERY` first (see `ShopifyAdmin.orders_updated_since`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from microfactory.channels.shopify.mapping import MAX_LINES
from microfactory.errors import UpstreamFailure

# Page sizes keep a page's requested cost well under Shopify's 1,000-point ceiling for one query:
# about 2 + ORDERS_PAGE * (15 + 2 + LINES_PAGE * 4) points (objects cost 1, scalars 0).
ORDERS_PAGE = 10
LINES_PAGE = 10
MORE_LINES_PAGE = 100  # line items of one order after its first page: about 400 points

_LINE_ITEM = """
fragment WebhookLineItem on LineItem {
  id name title variantTitle sku quantity currentQuantity requiresShipping isGiftCard
  customAttributes { key value }
  originalUnitPriceSet { shopMoney { amount currencyCode } }
}
"""
_ORDER = """
fragment WebhookOrder on Order {
  id legacyResourceId name email createdAt updatedAt cancelledAt cancelReason currencyCode number
  note tags test displayFinancialStatus displayFulfillmentStatus discountCodes
  totalPriceSet { shopMoney { amount currencyCode } }
  currentTotalPriceSet { shopMoney { amount currencyCode } }
  totalDiscountsSet { shopMoney { amount currencyCode } }
  shippingAddress {
    name firstName lastName company address1 address2 city zip province provinceCode country
    countryCodeV2 phone latitude longitude
  }
  shippingLines(first: 5) { nodes { title code } }
  lineItems(first: $lineItems) { nodes { ...WebhookLineItem } pageInfo { hasNextPage endCursor } }
}
"""
ORDERS_QUERY = (
    """
query OrdersUpdatedSince($first: Int!, $after: String, $query: String!, $lineItems: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { ...WebhookOrder }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + _ORDER
    + _LINE_ITEM
)
ORDER_QUERY = (
    """
query OrderForIntake($id: ID!, $lineItems: Int!) {
  order(id: $id) { ...WebhookOrder }
}
"""
    + _ORDER
    + _LINE_ITEM
)
LINE_ITEMS_QUERY = (
    """
query OrderLineItems($id: ID!, $first: Int!, $after: String) {
  order(id: $id) {
    lineItems(first: $first, after: $after) {
      nodes { ...WebhookLineItem }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
    + _LINE_ITEM
)
_FULFILLMENT_STATUS = {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial", "RESTOCKED": "restocked"}


class IncompleteOrder(UpstreamFailure):
    """Shopify has more line items of this order than were fetched: taking it in would drop lines."""

    def __init__(self, message: str) -> None:
        super().__init__("Shopify", message)


def updated_since_filter(since: datetime) -> str:
    """The `orders` search query for "updated at or after `since`" (dates must be quoted)."""
    moment = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
    return f"updated_at:>='{moment.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"


def order_gid(order_id: int | str) -> str:
    """The GID of a webhook's numeric order id (a GID is passed through)."""
    text = str(order_id).strip()
    return text if text.startswith("gid://") else f"gid://shopify/Order/{text}"


def legacy_id(value: object) -> int | None:
    """The numeric id of a legacy id (`UnsignedInt64`, a string of digits) or of a GID."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if not isinstance(value, str):
        return None
    tail = value.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


def line_items_page(node: Mapping[str, Any]) -> tuple[list[Any], Mapping[str, Any]]:
    """The line items fetched so far and the connection's `pageInfo`."""
    connection = node.get("lineItems")
    if not isinstance(connection, Mapping):
        return [], {}
    nodes = connection.get("nodes")
    page = connection.get("pageInfo")
    return (list(nodes) if isinstance(nodes, list) else []), (page if isinstance(page, Mapping) else {})


def webhook_payload(node: Mapping[str, Any]) -> dict[str, Any]:
    """One GraphQL `Order` node as its webhook JSON; `IncompleteOrder` when line items are missing.

    An order with more line items than `mapping.MAX_LINES` may come incomplete: mapping refuses it
    whole for its size, so no line is dropped silently either way.
    """
    items, page = line_items_page(node)
    if page.get("hasNextPage") and len(items) <= MAX_LINES:
        raise IncompleteOrder(
            f"order {node.get('legacyResourceId') or node.get('id')} ({node.get('name')}): only "
            f"{len(items)} of its line items were fetched; refused rather than taken in without the rest"
        )
    total = _amount(node.get("totalPriceSet"))
    address = node.get("shippingAddress")
    return {
        "id": legacy_id(node.get("legacyResourceId")) or legacy_id(node.get("id")),
        "admin_graphql_api_id": node.get("id"),
        "name": node.get("name"),
        "email": node.get("email"),
        "created_at": node.get("createdAt"),
        "updated_at": node.get("updatedAt"),
        "cancelled_at": node.get("cancelledAt"),
        "cancel_reason": _lower(node.get("cancelReason")),
        "currency": node.get("currencyCode"),
        "total_price": total,
        "current_total_price": _amount(node.get("currentTotalPriceSet")) or total,
        "total_discounts": _amount(node.get("totalDiscountsSet")),
        "order_number": node.get("number"),
        "note": node.get("note"),
        "tags": ", ".join(str(tag) for tag in node.get("tags") or []),
        "test": node.get("test") is True,
        "financial_status": _lower(node.get("displayFinancialStatus")),
        "fulfillment_status": _FULFILLMENT_STATUS.get(str(node.get("displayFulfillmentStatus"))),
        "discount_codes": [{"code": code} for code in node.get("discountCodes") or []],
        "shipping_lines": [_shipping_line(line) for line in _nodes(node.get("shippingLines"))],
        "shipping_address": _address(address) if isinstance(address, Mapping) else None,
        "line_items": [_line_item(item) if isinstance(item, Mapping) else item for item in items],
    }


def _line_item(item: Mapping[str, Any]) -> dict[str, Any]:
    attributes = item.get("customAttributes")
    return {
        "id": legacy_id(item.get("id")),
        "admin_graphql_api_id": item.get("id"),
        "name": item.get("name"),
        "title": item.get("title"),
        "variant_title": item.get("variantTitle"),
        "sku": item.get("sku"),
        "quantity": item.get("quantity"),
        "current_quantity": item.get("currentQuantity"),
        "requires_shipping": item.get("requiresShipping"),
        "gift_card": item.get("isGiftCard") is True,
        "price": _amount(item.get("originalUnitPriceSet")),
        "properties": [
            {"name": attribute.get("key"), "value": attribute.get("value")}
            for attribute in (attributes if isinstance(attributes, list) else [])
            if isinstance(attribute, Mapping)
        ],
    }


def _address(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "name": raw.get("name"),
        "first_name": raw.get("firstName"),
        "last_name": raw.get("lastName"),
        "company": raw.get("company"),
        "address1": raw.get("address1"),
        "address2": raw.get("address2"),
        "city": raw.get("city"),
        "zip": raw.get("zip"),
        "province": raw.get("province"),
        "province_code": raw.get("provinceCode"),
        "country": raw.get("country"),
        "country_code": raw.get("countryCodeV2"),
        "phone": raw.get("phone"),
        "latitude": raw.get("latitude"),
        "longitude": raw.get("longitude"),
    }


def _shipping_line(raw: object) -> dict[str, Any]:
    line = raw if isinstance(raw, Mapping) else {}
    return {"title": line.get("title"), "code": line.get("code")}


def _nodes(connection: object) -> list[Any]:
    nodes = connection.get("nodes") if isinstance(connection, Mapping) else None
    return nodes if isinstance(nodes, list) else []


def _amount(bag: object) -> str | None:
    """`MoneyBag.shopMoney.amount` as webhooks write money: a string with at least two decimals."""
    money = bag.get("shopMoney") if isinstance(bag, Mapping) else None
    raw = money.get("amount") if isinstance(money, Mapping) else None
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return None
    try:
        amount = Decimal(str(raw).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    exponent = amount.as_tuple().exponent
    return str(amount.quantize(Decimal("0.01")) if isinstance(exponent, int) and exponent > -2 else amount)


def _lower(value: object) -> str | None:
    return value.lower() if isinstance(value, str) and value else None
