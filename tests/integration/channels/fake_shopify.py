"""A fake Shopify Admin API: a real HTTP server on loopback speaking Shopify's shapes.

GraphQL `graphql.json` for the operations microfactory sends, with `extensions.cost.throttleStatus`
on every answer, a `THROTTLED` error or `429 Retry-After` when asked to. The order queries
(`orders`, `order`, an order's `lineItems`) are answered in Shopify's shape, with cursor pagination,
from the orders the shop holds as webhook JSON (`FakeShop.orders`). Tests queue failures in
`FakeShop.failures` and read what happened from its lists.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

TOKEN = "shpat_test_token"


@dataclass
class FakeShop:
    orders: list[dict[str, Any]] = field(default_factory=list)
    fulfillment_orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # order gid -> FOs
    assigned: list[dict[str, Any]] = field(default_factory=list)  # assignedFulfillmentOrders nodes
    fulfillments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # order gid -> fulfillments
    answers: list[tuple[str, str, str | None]] = field(default_factory=list)  # (mutation, FO id, message)
    services: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, float]] = field(default_factory=list)  # ("429" | "THROTTLED" | "500", seconds)
    requests: list[str] = field(default_factory=list)
    drop_after_create: int = 0  # fulfillmentCreate succeeds, but the connection is cut before the answer
    delay: float = 0.0  # seconds every GraphQL answer takes (a slow or throttled Admin API)

    def add_order(self, order: dict[str, Any], line_count: int | None = None, split: bool = False) -> None:
        """The order and its fulfillment orders: one for all its line items, or with `split` one per
        line item (as Shopify does when they ship from different locations)."""
        self.orders.append(order)
        gid = f"gid://shopify/Order/{order['id']}"
        items = [
            {
                "id": f"gid://shopify/FulfillmentOrderLineItem/{item['id']}",
                "totalQuantity": item["quantity"],
                "remainingQuantity": item["quantity"],
                "lineItem": {
                    "id": item.get("admin_graphql_api_id") or f"gid://shopify/LineItem/{item['id']}"
                },
            }
            for item in order.get("line_items", [])[: line_count or None]
        ]
        groups = [[item] for item in items] if split else [items]
        self.fulfillment_orders[gid] = [
            {
                "id": f"gid://shopify/FulfillmentOrder/{order['id']}{index + 1}",
                "status": "OPEN",
                "lineItems": {"nodes": group},
            }
            for index, group in enumerate(groups)
        ]


def build_app(shop: FakeShop) -> FastAPI:
    app = FastAPI()

    def failure() -> JSONResponse | None:
        if not shop.failures:
            return None
        kind, seconds = shop.failures.pop(0)
        if kind == "429":
            return JSONResponse(
                {"errors": "Exceeded 2 calls per second for api client."}, 429, {"Retry-After": str(seconds)}
            )
        if kind == "500":
            return JSONResponse({"errors": "Internal Server Error"}, 500)
        if kind == "THROTTLED":
            return JSONResponse(
                {
                    "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                    "extensions": {
                        "cost": {
                            "requestedQueryCost": 50,
                            "actualQueryCost": None,
                            "throttleStatus": {
                                "maximumAvailable": 2000.0,
                                "currentlyAvailable": 50 - 100 * seconds,
                                "restoreRate": 100.0,
                            },
                        }
                    },
                }
            )
        return None

    def authorised(request: Request) -> bool:
        return request.headers.get("x-shopify-access-token") == TOKEN

    @app.post("/admin/api/{version}/graphql.json")
    async def graphql(request: Request, version: str) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"errors": "[API] Invalid API key or access token"}, 401)
        document = await request.json()
        match = re.search(r"(query|mutation)\s+(\w+)", document["query"])
        name = match.group(2) if match else "anonymous"
        shop.requests.append(f"graphql {name}")
        if shop.delay:
            await asyncio.sleep(shop.delay)
        failed = failure()
        if failed is not None:
            return failed
        variables = document.get("variables") or {}
        data = _resolve(shop, name, variables)
        if name == "FulfillmentCreate" and shop.drop_after_create > 0:
            shop.drop_after_create -= 1
            raise ConnectionResetError("cut")  # the fulfillment exists; the client never hears so
        cost = {
            "requestedQueryCost": 12,
            "actualQueryCost": 10,
            "throttleStatus": {
                "maximumAvailable": 2000.0,
                "currentlyAvailable": 1990.0,
                "restoreRate": 100.0,
            },
        }
        return JSONResponse({"data": data, "extensions": {"cost": cost}})

    return app


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _resolve(shop: FakeShop, name: str, variables: dict[str, Any]) -> dict[str, Any]:
    if name in ("OrdersUpdatedSince", "OrderForIntake", "OrderLineItems"):
        return _order_read(shop, name, variables)
    if name == "AssignedFulfillmentOrders":
        status = variables["status"]
        nodes = [node for node in shop.assigned if node["assignment"] == status]
        edges = [{"node": {k: v for k, v in node.items() if k != "assignment"}} for node in nodes]
        return {
            "assignedFulfillmentOrders": {
                "edges": edges,
                "pageInfo": {"hasNextPage": False, "endCursor": None},
            }
        }
    answers = {
        "AcceptFulfillmentRequest": ("fulfillmentOrderAcceptFulfillmentRequest", "IN_PROGRESS", "ACCEPTED"),
        "RejectFulfillmentRequest": ("fulfillmentOrderRejectFulfillmentRequest", "OPEN", "REJECTED"),
        "AcceptCancellationRequest": (
            "fulfillmentOrderAcceptCancellationRequest",
            "CLOSED",
            "CANCELLATION_ACCEPTED",
        ),
        "RejectCancellationRequest": (
            "fulfillmentOrderRejectCancellationRequest",
            "IN_PROGRESS",
            "CANCELLATION_REJECTED",
        ),
    }
    if name in answers:
        field_name, status, request_status = answers[name]
        shop.answers.append((name, variables["id"], variables.get("message")))
        shop.assigned = [node for node in shop.assigned if node["id"] != variables["id"]]
        return {
            field_name: {
                "fulfillmentOrder": {
                    "id": variables["id"],
                    "status": status,
                    "requestStatus": request_status,
                },
                "userErrors": [],
            }
        }
    if name == "FulfillmentServiceCreate":
        service = {
            "id": f"gid://shopify/FulfillmentService/{len(shop.services) + 1}",
            "serviceName": variables["name"],
            "callbackUrl": variables["callbackUrl"],
            "location": {"id": f"gid://shopify/Location/{len(shop.services) + 100}"},
        }
        shop.services.append(service)
        return {"fulfillmentServiceCreate": {"fulfillmentService": service, "userErrors": []}}
    if name == "OrderFulfillmentState":
        gid = variables["id"]
        order = next((o for o in shop.orders if f"gid://shopify/Order/{o['id']}" == gid), None)
        if order is None:
            return {"order": None}
        return {
            "order": {
                "id": gid,
                "name": order["name"],
                "fulfillments": shop.fulfillments.get(gid, []),
                "fulfillmentOrders": {"nodes": shop.fulfillment_orders.get(gid, [])},
            }
        }
    if name == "FulfillmentCreate":
        return {"fulfillmentCreate": _fulfillment_create(shop, variables["fulfillment"])}
    raise ValueError(f"the fake does not know operation {name}")


def _fulfillment_create(shop: FakeShop, fulfillment: dict[str, Any]) -> dict[str, Any]:
    """`fulfillmentCreate` as Shopify answers it: every pair is checked before anything changes.

    A pair without `fulfillmentOrderLineItems` takes all that remains of its fulfillment order; a
    quantity above what remains (or below 1) is a userError and nothing is fulfilled.
    """
    plan: dict[str, tuple[dict[str, Any], int]] = {}  # FO line item id -> (the item, quantity)
    touched: list[tuple[str, dict[str, Any]]] = []  # (order gid, fulfillment order)
    for index, pair in enumerate(fulfillment["lineItemsByFulfillmentOrder"]):
        where = ["fulfillment", "lineItemsByFulfillmentOrder", str(index)]
        found = _fulfillment_order(shop, pair["fulfillmentOrderId"])
        if found is None:
            return _refused([*where, "fulfillmentOrderId"], "Fulfillment order does not exist.")
        fo = found[1]
        if fo["status"] not in ("OPEN", "IN_PROGRESS"):
            status = fo["status"].lower()
            return _refused(where, f"Fulfillment order {fo['id']} has an unfulfillable status= {status}.")
        touched.append(found)
        items = {item["id"]: item for item in fo["lineItems"]["nodes"]}
        wanted = pair.get("fulfillmentOrderLineItems") or [
            {"id": key, "quantity": item["remainingQuantity"]}
            for key, item in items.items()
            if item["remainingQuantity"] > 0
        ]
        for asked in wanted:
            item = items.get(asked["id"])
            total = asked["quantity"] + plan.get(asked["id"], ({}, 0))[1]
            if item is None or asked["quantity"] < 1 or total > item["remainingQuantity"]:
                message = "Invalid fulfillment order line item quantity requested."
                return _refused([*where, "fulfillmentOrderLineItems"], message)
            plan[asked["id"]] = (item, total)
    if len({gid for gid, _ in touched}) != 1 or not plan:
        return _refused(["fulfillment"], "Fulfillment orders must belong to one order and hold something.")
    for item, quantity in plan.values():
        item["remainingQuantity"] -= quantity
    for _, fo in touched:
        left = sum(item["remainingQuantity"] for item in fo["lineItems"]["nodes"])
        fo["status"] = "CLOSED" if left == 0 else "IN_PROGRESS"
    gid = touched[0][0]
    tracking = fulfillment.get("trackingInfo") or {}
    order_name = next(o["name"] for o in shop.orders if f"gid://shopify/Order/{o['id']}" == gid)
    created = {
        "id": f"gid://shopify/Fulfillment/{sum(len(v) for v in shop.fulfillments.values()) + 1}",
        "name": f"{order_name}.{len(shop.fulfillments.get(gid, [])) + 1}",  # Shopify's "#1042.2"
        "status": "SUCCESS",
        "trackingInfo": [{key: tracking.get(key) for key in ("number", "company", "url")}],
        "fulfillmentLineItems": {
            "nodes": [
                {"lineItem": {"id": item["lineItem"]["id"]}, "quantity": quantity}
                for item, quantity in plan.values()
            ]
        },
    }
    shop.fulfillments.setdefault(gid, []).append(created)
    return {"fulfillment": {key: created[key] for key in ("id", "name", "status")}, "userErrors": []}


def _fulfillment_order(shop: FakeShop, fo_id: str) -> tuple[str, dict[str, Any]] | None:
    """(order gid, fulfillment order) of a fulfillment order id, wherever it is."""
    for gid, fos in shop.fulfillment_orders.items():
        for fo in fos:
            if fo["id"] == fo_id:
                return gid, fo
    return None


def _refused(field: list[str], message: str) -> dict[str, Any]:
    return {"fulfillment": None, "userErrors": [{"field": field, "message": message}]}


def _order_read(shop: FakeShop, name: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The order queries of `graphql_orders`, answered from the webhook JSON the shop holds."""
    if name == "OrdersUpdatedSince":
        match = re.fullmatch(r"updated_at:>='([^']+)'", variables["query"])
        assert match is not None, f"the fake does not understand the search {variables['query']!r}"
        chosen = sorted(
            (o for o in shop.orders if _time(o["updated_at"]) >= _time(match.group(1))),
            key=lambda o: (_time(o["updated_at"]), o["id"]),
        )
        page, info = _page(chosen, variables["first"], variables.get("after"))
        nodes = [_order_node(order, variables["lineItems"]) for order in page]
        return {"orders": {"nodes": nodes, "pageInfo": info}}
    order = next((o for o in shop.orders if f"gid://shopify/Order/{o['id']}" == variables["id"]), None)
    if order is None:
        return {"order": None}
    if name == "OrderLineItems":
        return {"order": {"lineItems": _line_items(order, variables["first"], variables.get("after"))}}
    return {"order": _order_node(order, variables["lineItems"])}


def _page(items: list[Any], first: int, after: str | None) -> tuple[list[Any], dict[str, Any]]:
    """Shopify's cursor pagination, at most 250 a page; the opaque cursor is an offset here."""
    assert 0 < first <= 250, f"first: {first} is not between 1 and 250"
    start = json.loads(base64.b64decode(after))["offset"] if after else 0
    page = items[start : start + first]
    end = start + len(page)
    cursor = base64.b64encode(json.dumps({"offset": end}).encode()).decode() if page else None
    return page, {"hasNextPage": end < len(items), "endCursor": cursor}


def _order_node(order: dict[str, Any], line_items: int) -> dict[str, Any]:
    """The `WebhookOrder` fields as Shopify answers them: GIDs, enums, MoneyBags, UTC times, lists."""
    currency = order.get("currency")
    status = order.get("fulfillment_status")
    return {
        "id": f"gid://shopify/Order/{order['id']}",
        "legacyResourceId": str(order["id"]),  # UnsignedInt64: a string of digits
        "name": order.get("name"),
        "email": order.get("email"),
        "createdAt": _utc(order.get("created_at")),
        "updatedAt": _utc(order.get("updated_at")),
        "cancelledAt": _utc(order.get("cancelled_at")),
        "cancelReason": (order.get("cancel_reason") or "").upper() or None,
        "currencyCode": currency,
        "number": order.get("order_number"),
        "note": order.get("note"),
        "tags": [tag.strip() for tag in (order.get("tags") or "").split(",") if tag.strip()],
        "test": bool(order.get("test")),
        "displayFinancialStatus": (order.get("financial_status") or "").upper() or None,
        "displayFulfillmentStatus": {"fulfilled": "FULFILLED", "partial": "PARTIALLY_FULFILLED"}.get(
            status or "", "UNFULFILLED"
        ),
        "discountCodes": [code["code"] for code in order.get("discount_codes") or []],
        "totalPriceSet": _money(order.get("total_price"), currency),
        "currentTotalPriceSet": _money(order.get("current_total_price", order.get("total_price")), currency),
        "totalDiscountsSet": _money(order.get("total_discounts", "0.00"), currency),
        "shippingAddress": _mailing_address(order.get("shipping_address")),
        "shippingLines": {
            "nodes": [
                {"title": s.get("title"), "code": s.get("code")} for s in order.get("shipping_lines") or []
            ]
        },
        "lineItems": _line_items(order, line_items, None),
    }


def _line_items(order: dict[str, Any], first: int, after: str | None) -> dict[str, Any]:
    page, info = _page(order.get("line_items") or [], first, after)
    currency = order.get("currency")
    nodes = [
        {
            "id": item.get("admin_graphql_api_id") or f"gid://shopify/LineItem/{item['id']}",
            "name": item.get("name"),
            "title": item.get("title"),
            "variantTitle": item.get("variant_title"),
            "sku": item.get("sku"),
            "quantity": item["quantity"],
            "currentQuantity": item.get("current_quantity", item["quantity"]),
            "requiresShipping": item.get("requires_shipping", True),
            "isGiftCard": item.get("gift_card", False),
            "customAttributes": [
                {"key": p["name"], "value": None if p.get("value") is None else str(p["value"])}
                for p in item.get("properties") or []
            ],
            "originalUnitPriceSet": _money(item.get("price"), currency),
        }
        for item in page
    ]
    return {"nodes": nodes, "pageInfo": info}


def _mailing_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if address is None:
        return None
    keys = {"firstName": "first_name", "lastName": "last_name", "provinceCode": "province_code",
            "countryCodeV2": "country_code"}  # fmt: skip
    plain = ("name", "company", "address1", "address2", "city", "zip", "province", "country", "phone")
    return {key: address.get(rest) for key, rest in keys.items()} | {
        key: address.get(key) for key in (*plain, "latitude", "longitude")
    }


def _money(amount: str | None, currency: str | None) -> dict[str, Any] | None:
    """A MoneyBag's shop money, trailing zeros dropped ("134.9", "0.0"): the `Decimal` scalar does not
    promise webhooks' two decimals, so the fake answers the form that tests the difference."""
    if amount is None:
        return None
    text = format(Decimal(amount).normalize(), "f")
    return {"shopMoney": {"amount": text if "." in text else f"{text}.0", "currencyCode": currency}}


def _utc(text: str | None) -> str | None:
    return None if text is None else _time(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
