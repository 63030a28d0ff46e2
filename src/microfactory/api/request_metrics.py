"""Requests by route and status, and their latency, for `GET /metrics` (prometheus_client).

Labelled by the route's template (`/api/v1/orders/{order_id}`), never the raw path, so that ids
do not make a new time series each; a request no route matched is `unmatched`. Each app has its
own registry (tests build many apps in one process; two servers never share one).
"""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "microfactory_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "microfactory_http_request_duration_seconds",
            "time from a request's arrival to the start of its answer, by method and route template",
            ["method", "route"],
            buckets=BUCKETS,
            registry=registry,
        )
        self._counted: dict[tuple[str, str, str], Any] = {}
        self._timed: dict[tuple[str, str], Any] = {}

    def count(self, method: str, route: str, status: str) -> None:
        """One request more; each label set's child is looked up once (`labels` takes a lock)."""
        key = (method, route, status)
        child = self._counted.get(key)
        if child is None:
            child = self._counted[key] = self.requests.labels(method, route, status)
        child.inc()

    def time(self, method: str, route: str, seconds: float) -> None:
        key = (method, route)
        child = self._timed.get(key)
        if child is None:
            child = self._timed[key] = self.latency.labels(method, route)
        child.observe(seconds)


class MeasureRequests:
    """Counts every HTTP request and times it to its response's first byte."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception that escapes every handler ends as a 500

        async def noting(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                self.metrics.time(scope["method"], route_of(scope), time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, noting)
        finally:
            self.metrics.count(scope["method"], route_of(scope), str(status))


def route_of(scope: Scope) -> str:
    """The template of the route that took the request, `unmatched` when none did."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else "unmatched"
