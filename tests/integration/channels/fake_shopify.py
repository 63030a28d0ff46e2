"""A fake Shopify Admin API: a real HTTP server on loopback speaking Shopify's shapes.

REST `orders.json` (cursor pagination with `Link: <...page_info=...>; rel="next"`, `Retry-After` on
429) and `orders/{id}.json`; GraphQL `graphql.json` for the operations microfactory sends, with
`extensions.cost.throttleStatus` on every answer and a `THROTTLED` error when asked to. Tests queue
failures in `FakeShop.failures` and read what happened from its lists.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import uvicorn
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

    def add_order(self, order: dict[str, Any], line_count: int | None = None) -> None:
        self.orders.append(order)
        gid = f"gid://shopify/Order/{order['id']}"
        self.fulfillment_orders[gid] = [
            {
                "id": f"gid://shopify/FulfillmentOrder/{order['id']}1",
                "status": "OPEN",
                "lineItems": {
                    "nodes": [
                        {
                            "id": f"gid://shopify/FulfillmentOrderLineItem/{item['id']}",
                            "remainingQuantity": item["quantity"],
                        }
                        for item in order.get("line_items", [])[: line_count or None]
                    ]
                },
            }
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

    @app.get("/admin/api/{version}/orders.json")
    def orders(request: Request, version: str) -> JSONResponse:
        shop.requests.append(f"GET orders.json?{request.url.query}")
        if not authorised(request):
            return JSONResponse({"errors": "[API] Invalid API key or access token"}, 401)
        failed = failure()
        if failed is not None:
            return failed
        params = request.query_params
        if "page_info" in params:
            cursor = json.loads(base64.urlsafe_b64decode(params["page_info"]))
            since, offset = cursor["since"], cursor["offset"]
            if set(params) - {"page_info", "limit"}:
                return JSONResponse({"errors": {"page_info": ["Invalid with other filters"]}}, 400)
        else:
            since, offset = params.get("updated_at_min"), 0
        limit = min(int(params.get("limit", 50)), 250)
        chosen = sorted(
            (o for o in shop.orders if since is None or _time(o["updated_at"]) >= _time(since)),
            key=lambda o: o["id"],
        )
        page = chosen[offset : offset + limit]
        headers = {}
        if offset + limit < len(chosen):
            token = base64.urlsafe_b64encode(
                json.dumps({"since": since, "offset": offset + limit}).encode()
            ).decode()
            url = f"{request.base_url}admin/api/{version}/orders.json?limit={limit}&page_info={token}"
            headers["Link"] = f'<{url}>; rel="next"'
        return JSONResponse({"orders": page}, headers=headers)

    @app.get("/admin/api/{version}/orders/{order_id}.json")
    def order(request: Request, version: str, order_id: str) -> JSONResponse:
        found = next((o for o in shop.orders if str(o["id"]) == order_id), None)
        if found is None:
            return JSONResponse({"errors": "Not Found"}, 404)
        return JSONResponse({"order": found})

    @app.post("/admin/api/{version}/graphql.json")
    async def graphql(request: Request, version: str) -> JSONResponse:
        if not authorised(request):
            return JSONResponse({"errors": "[API] Invalid API key or access token"}, 401)
        document = await request.json()
        match = re.search(r"(query|mutation)\s+(\w+)", document["query"])
        name = match.group(2) if match else "anonymous"
        shop.requests.append(f"graphql {name}")
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
        fulfillment = variables["fulfillment"]
        ids = {pair["fulfillmentOrderId"] for pair in fulfillment["lineItemsByFulfillmentOrder"]}
        for gid, fos in shop.fulfillment_orders.items():
            if any(fo["id"] in ids for fo in fos):
                for fo in fos:
                    if fo["id"] in ids:
                        fo["status"] = "CLOSED"
                        for item in fo["lineItems"]["nodes"]:
                            item["remainingQuantity"] = 0
                tracking = fulfillment.get("trackingInfo") or {}
                created = {
                    "id": f"gid://shopify/Fulfillment/{sum(len(v) for v in shop.fulfillments.values()) + 1}",
                    "status": "SUCCESS",
                    "trackingInfo": [
                        {
                            "number": tracking.get("number"),
                            "company": tracking.get("company"),
                            "url": tracking.get("url"),
                        }
                    ],
                }
                shop.fulfillments.setdefault(gid, []).append(created)
                return {
                    "fulfillmentCreate": {
                        "fulfillment": {"id": created["id"], "status": "SUCCESS"},
                        "userErrors": [],
                    }
                }
        return {
            "fulfillmentCreate": {
                "fulfillment": None,
                "userErrors": [{"field": ["fulfillment"], "message": "not found"}],
            }
        }
    raise ValueError(f"the fake does not know operation {name}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(app: Any, port: int | None = None) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a thread on 127.0.0.1; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
