"""Rate limits per client and route, answered 429 with Retry-After (the `limits` library counts).

One `RateLimiter` per process holds named limits from the settings (`webhooks`,
`webhook_failures`, `login`); counters live in `MICROFACTORY_RATE_LIMIT_STORAGE` (this process's
memory, or Redis to share them). Two users:

- `WebhookLimits`, a middleware on `POST /webhooks/*` (and the store's signed `/shopify/*`
  callbacks): a client whose deliveries keep failing verification (a forger) is refused once it
  passed `webhook_failures`, and every request counts against `webhooks` when that is set. A signed delivery is never refused by default: the store
  retries a refused delivery and, after repeated failures, drops the subscription, so a flash sale
  must not be throttled here (decision 0016).
- `rate_limited("login")`, a dependency the web UI's `POST /login` declares: every attempt counts.

The client is the address the server saw: behind a reverse proxy, run the server so that it takes
the proxy's X-Forwarded-For (uvicorn's `--forwarded-allow-ips`, docs/deploy.md).
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable, Mapping

from fastapi import HTTPException, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microfactory.api.errors import error_body
from microfactory.config import OperationsSettings

REFUSED = frozenset({400, 401, 403})  # what a delivery that fails verification is answered
SIGNED_CALLBACKS = "/shopify/"  # the store's fulfillment-service callbacks, signed like its webhooks


class RateLimiter:
    """Named limits, each counted per (client, route) in a moving window."""

    def __init__(self, storage: str, named: Mapping[str, str]) -> None:
        uri = storage if storage.startswith("async+") else f"async+{storage}"
        self._strategy = MovingWindowRateLimiter(storage_from_string(uri))
        self._limits: dict[str, list[RateLimitItem]] = {
            name: parse_many(value) for name, value in named.items() if value
        }

    @classmethod
    def from_settings(cls, settings: OperationsSettings) -> RateLimiter:
        named = {
            "webhooks": settings.rate_limit_webhooks,
            "webhook_failures": settings.rate_limit_webhook_failures,
            "login": settings.rate_limit_login,
        }
        return cls(settings.rate_limit_storage, named)

    def active(self, name: str) -> bool:
        return name in self._limits

    async def hit(self, name: str, client: str, route: str) -> int | None:
        """Count one request; None when it is within the limit, else the seconds to wait."""
        for item in self._limits.get(name, ()):
            if not await self._strategy.hit(item, name, client, route):
                return await self._retry_after(item, name, client, route)
        return None

    async def over(self, name: str, client: str, route: str) -> int | None:
        """Without counting: None while within the limit, else the seconds to wait."""
        for item in self._limits.get(name, ()):
            if not await self._strategy.test(item, name, client, route):
                return await self._retry_after(item, name, client, route)
        return None

    async def _retry_after(self, item: RateLimitItem, *keys: str) -> int:
        stats = await self._strategy.get_window_stats(item, *keys)
        return max(1, math.ceil(stats.reset_time - time.time()))


def client_of(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def too_many(method: str, route: str, retry_after: int) -> JSONResponse:
    message = f"too many requests from this client to {method} {route}: try again in {retry_after} s"
    return JSONResponse(error_body(message), status_code=429, headers={"Retry-After": str(retry_after)})


class WebhookLimits:
    """Rate limits of `POST /webhooks/*`, before the body is read or a signature checked."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_webhook(scope):
            await self.app(scope, receive, send)
            return
        client, route = client_of(scope), scope["path"]
        wait = await self.limiter.over("webhook_failures", client, route)
        if wait is None:
            wait = await self.limiter.hit("webhooks", client, route)
        if wait is not None:
            await too_many("POST", route, wait)(scope, receive, send)
            return
        status = 0

        async def noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, noting_status)
        if status in REFUSED:
            await self.limiter.hit("webhook_failures", client, route)


def _is_webhook(scope: Scope) -> bool:
    """`POST /webhooks/*`, and the store's signed callbacks under `/shopify/` (any method)."""
    if scope["type"] != "http":
        return False
    path = str(scope.get("path", ""))
    return path.startswith(SIGNED_CALLBACKS) or (
        scope.get("method") == "POST" and path.startswith("/webhooks/")
    )


def limiter_of(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.app.state.rate_limiter
    return limiter


def rate_limited(name: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency that counts each request against the named limit: 429 with Retry-After past it.

    For the web UI's login: `@router.post("/login", dependencies=[Depends(rate_limited("login"))])`.
    """

    async def count(request: Request) -> None:
        route = getattr(request.scope.get("route"), "path", request.url.path)
        wait = await limiter_of(request).hit(name, client_of(request.scope), route)
        if wait is not None:
            message = f"too many requests from this client to {request.method} {route}: try again in {wait} s"
            raise HTTPException(429, message, headers={"Retry-After": str(wait)})

    return count
