"""Security headers on every response, including the 413s and 429s answered before any route.

`nosniff` stops browsers from guessing a JSON answer is a page; `no-referrer` keeps ids in URLs
out of other sites' logs; `X-Frame-Options: DENY` and CSP `frame-ancestors 'none'` forbid framing
(clickjacking of the web UI). HSTS is sent only over https (as the server sees it: behind a proxy,
with X-Forwarded-Proto trusted), since a browser ignores it on http. A response that sets one of
these itself (a UI page with its own CSP) keeps its own.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Content-Security-Policy", "frame-ancestors 'none'"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts_seconds: int) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_seconds}; includeSubDomains" if hsts_seconds > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS:
                    headers.setdefault(name, value)
                if https and self.hsts is not None:
                    headers.setdefault("Strict-Transport-Security", self.hsts)
            await send(message)

        await self.app(scope, receive, with_headers)
