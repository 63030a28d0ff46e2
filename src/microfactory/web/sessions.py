"""Signed session cookies for the web pages only, and the secret that signs them.

Starlette's `SessionMiddleware` keeps the session in the cookie itself, signed with itsdangerous
(HMAC): nothing to store server-side, and several processes share sessions when they share the
secret. The cookie is HttpOnly and SameSite=Lax always, Secure when the request came over https or
`MICROFACTORY_SESSION_SECURE=true` (a TLS proxy in front). API, webhook and health routes never see
the middleware: they are authenticated by bearer tokens or signatures, and stay as fast as before.
"""

from __future__ import annotations

import logging
import secrets

from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from microfactory.config import PREFIX, Settings

log = logging.getLogger("microfactory.web")
COOKIE = "mf_session"
NOT_WEB = ("/api/", "/webhooks/", "/healthz", "/openapi.json", "/docs", "/redoc")


def session_secret(settings: Settings) -> str:
    """MICROFACTORY_SESSION_SECRET, else a secret made for this process, with a warning.

    A made secret works for one process: sessions end when it restarts, and a second process behind
    the same address would not read them. That is fine on a laptop, not in production, so it warns.
    """
    if settings.session_secret is not None and settings.session_secret.get_secret_value():
        return settings.session_secret.get_secret_value()
    log.warning(
        "%sSESSION_SECRET is not set: web sessions use a secret made for this process and end when it "
        "stops; set it (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) in production",
        PREFIX,
    )
    return secrets.token_urlsafe(32)


class WebSessions:
    """Session cookies on web paths only; the Secure flag follows the request's scheme or the setting."""

    def __init__(self, app: ASGIApp, secret: str, secure: bool, max_age: int) -> None:
        self.app = app
        options = {"session_cookie": COOKIE, "max_age": max_age, "same_site": "lax"}
        self.plain = SessionMiddleware(app, secret, https_only=secure, **options)  # type: ignore[arg-type]
        self.secure = SessionMiddleware(app, secret, https_only=True, **options)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or str(scope.get("path", "")).startswith(NOT_WEB):
            await self.app(scope, receive, send)
            return
        chosen = self.secure if scope.get("scheme") == "https" else self.plain
        await chosen(scope, receive, send)
