"""A small client for Shopify's Admin GraphQL API, with cost throttling, and the orders it reads.

Shopify limits apps two ways: HTTP 429 with `Retry-After` (REST, and GraphQL when overwhelmed), and
GraphQL's calculated query cost, reported in `extensions.cost.throttleStatus` (`currentlyAvailable`,
`maximumAvailable`, `restoreRate`), with a `THROTTLED` error when the bucket is empty. This client
waits as told in both cases; retries and the rule never to resend a mutation whose outcome is
unknown are the shared `outbound_http` policy: callers make mutations idempotent by checking first
(see `fulfilment_sync`).

Orders are read with GraphQL only (the REST Admin API is legacy since 2024-10) and handed out as
their webhook JSON (`graphql_orders.webhook_payload`), every line item fetched, so reconciliation and
the fulfillment service feed `order_sync.sync_order` exactly as webhooks do.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx

from microfactory.channels.shopify.graphql_orders import (
    LINE_ITEMS_QUERY,
    LINES_PAGE,
    MORE_LINES_PAGE,
    ORDER_QUERY,
    ORDERS_PAGE,
    ORDERS_QUERY,
    IncompleteOrder,
    line_items_page,
    order_gid,
    updated_since_filter,
    webhook_payload,
)
from microfactory.channels.shopify.mapping import MAX_LINES
from microfactory.config import MissingSetting, Settings
from microfactory.errors import UpstreamFailure
from microfactory.outbound_http import RetryPolicy, Sleep, send

__all__ = ["AdminApiError", "RetryPolicy", "ShopifyAdmin", "ThrottleStatus"]


class AdminApiError(UpstreamFailure):
    """Shopify refused or failed a request; the message says what it answered."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__("Shopify", message, retryable=retryable)


@dataclass
class ThrottleStatus:
    maximum: float
    available: float
    restore_rate: float

    def wait_for(self, cost: float) -> float:
        """Seconds until the bucket holds `cost` points again."""
        missing = cost - self.available
        if missing <= 0 or self.restore_rate <= 0:
            return 0.0
        return missing / self.restore_rate


class ShopifyAdmin:
    """The Admin API of one shop with one access token (`X-Shopify-Access-Token`)."""

    def __init__(
        self,
        shop: str,
        token: str,
        api_version: str,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Sleep = time.sleep,
        policy: RetryPolicy | None = None,
        timeout: float = 30.0,
    ) -> None:
        origin = shop.rstrip("/") if shop.startswith(("http://", "https://")) else f"https://{shop}"
        self.base_url = f"{origin}/admin/api/{api_version}"
        self._client = httpx.Client(
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._sleep = sleep
        self.policy = policy or RetryPolicy()
        self.throttle: ThrottleStatus | None = None
        self.last_cost: float = 0.0
        self.waited: float = 0.0  # seconds spent waiting for Shopify's limits, for reports and tests

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> ShopifyAdmin:
        """The configured shop; `MissingSetting` names what is not set."""
        shop, token = cls.check_settings(settings)
        return cls(shop, token, settings.shopify.api_version, **kwargs)

    @staticmethod
    def check_settings(settings: Settings) -> tuple[str, str]:
        """The shop's domain and access token; `MissingSetting` names the first that is not set."""
        shopify = settings.shopify
        if not shopify.shop_domain:
            raise MissingSetting("MICROFACTORY_SHOPIFY_SHOP_DOMAIN", "the Admin API needs the shop's domain")
        token = shopify.admin_token
        if token is None or not token.get_secret_value():
            raise MissingSetting("MICROFACTORY_SHOPIFY_ADMIN_TOKEN", "the Admin API needs an access token")
        return shopify.shop_domain, token.get_secret_value()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def _wait(self, seconds: float) -> None:
        if seconds > 0:
            self.waited += seconds
            self._sleep(seconds)

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, *, mutation: bool = False
    ) -> Any:
        """The `data` of a GraphQL request; retries throttling always, other failures only for reads."""
        if self.throttle is not None and self.last_cost:
            self._wait(self.throttle.wait_for(self.last_cost))  # do not ask for what the bucket lacks
        body = {"query": query, "variables": dict(variables or {})}
        for _ in range(self.policy.attempts):
            response = self._post(body, mutation)
            if response.status_code >= 400:
                raise AdminApiError(f"GraphQL HTTP {response.status_code}: {response.text[:300]}")
            document = _json(response)
            cost = self._read_cost(document)
            errors = document.get("errors") or []
            if any(_code(error) == "THROTTLED" for error in errors):
                wait = self.throttle.wait_for(cost) if self.throttle is not None else 0.0
                self._wait(max(wait, self.policy.backoff(0)))
                continue
            if errors:
                messages = "; ".join(
                    str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
                )
                raise AdminApiError(f"GraphQL errors: {messages}")
            return document.get("data")
        raise AdminApiError(
            f"GraphQL request still throttled or failing after {self.policy.attempts} attempts"
        )

    def _post(self, body: Mapping[str, Any], mutation: bool) -> httpx.Response:
        """One GraphQL POST under the shared policy: reads are retried, mutations never resent."""
        request = self._client.build_request("POST", f"{self.base_url}/graphql.json", json=body)
        try:
            return send(
                self._client,
                request,
                upstream="Shopify",
                policy=self.policy,
                sleep=self._wait,
                idempotent=not mutation,
            )
        except UpstreamFailure as error:
            detail = error.message.removeprefix(f"{error.upstream}: ")
            raise AdminApiError(f"GraphQL request failed: {detail}", retryable=error.retryable) from error

    def _read_cost(self, document: Mapping[str, Any]) -> float:
        cost = (document.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus") or {}
        try:
            self.throttle = ThrottleStatus(
                float(status["maximumAvailable"]),
                float(status["currentlyAvailable"]),
                float(status["restoreRate"]),
            )
        except (KeyError, TypeError, ValueError):
            return self.last_cost
        requested = cost.get("requestedQueryCost")
        if isinstance(requested, int | float):
            self.last_cost = float(requested)
        return self.last_cost

    def orders_updated_since(
        self, since: datetime, page_size: int = ORDERS_PAGE, lines_page: int = LINES_PAGE
    ) -> Iterator[dict[str, Any]]:
        """Every order updated at or after `since` (no status filter: closed and cancelled ones too),
        least recently updated first, as webhook JSON.

        Sorted by `updated_at`, an order edited while we page moves behind the cursor and is met
        again later rather than skipped.
        """
        variables: dict[str, Any] = {
            "first": page_size,
            "after": None,
            "query": updated_since_filter(since),
            "lineItems": lines_page,
        }
        while True:
            connection = _field(self.graphql(ORDERS_QUERY, variables), "orders")
            for node in connection.get("nodes") or []:
                if isinstance(node, dict):
                    yield self._webhook_payload(node)
            page = connection.get("pageInfo") or {}
            if not page.get("hasNextPage"):
                return
            if not page.get("endCursor"):
                raise AdminApiError("orders: Shopify reports another page but gives no cursor to it")
            variables["after"] = page["endCursor"]

    def order(self, order_id: int | str, lines_page: int = LINES_PAGE) -> dict[str, Any] | None:
        """One order by its numeric id (or GID) as webhook JSON; None when Shopify has no such order."""
        node = _field(
            self.graphql(ORDER_QUERY, {"id": order_gid(order_id), "lineItems": lines_page}), "order"
        )
        return self._webhook_payload(node) if node else None

    def _webhook_payload(self, node: dict[str, Any]) -> dict[str, Any]:
        """The order's webhook JSON, after fetching the line items beyond its first page."""
        items, page = line_items_page(node)
        while page.get("hasNextPage") and page.get("endCursor") and len(items) <= MAX_LINES:
            variables = {
                "id": node.get("id"),
                "first": MORE_LINES_PAGE,
                "after": page["endCursor"],
            }
            more = _field(_field(self.graphql(LINE_ITEMS_QUERY, variables), "order"), "lineItems")
            page = more.get("pageInfo") or {"hasNextPage": True}  # no answer: still incomplete
            items.extend(more.get("nodes") or [])
        try:
            return webhook_payload({**node, "lineItems": {"nodes": items, "pageInfo": page}})
        except IncompleteOrder as error:
            raise AdminApiError(error.detail) from error


def _field(data: object, name: str) -> dict[str, Any]:
    """`data[name]` when it is an object, else empty (a missing order, a partial answer)."""
    value = data.get(name) if isinstance(data, dict) else None
    return value if isinstance(value, dict) else {}


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as error:
        raise AdminApiError(
            f"Shopify answered HTTP {response.status_code} with a body that is not JSON"
        ) from error


def _code(error: object) -> str | None:
    if not isinstance(error, dict):
        return None
    extensions = error.get("extensions")
    return extensions.get("code") if isinstance(extensions, dict) else None
