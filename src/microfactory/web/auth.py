"""The web session's user, and CSRF protection of every form that changes something.

A session holds the user's id and a CSRF token, nothing else; the user is read again on every
request, so disabling a user ends their sessions at once. Every POST carries the session's CSRF
token (a hidden `csrf_token` field, or the `X-CSRF-Token` header for htmx) and is refused with 403
without it: SameSite=Lax already keeps other sites' forms from carrying the cookie, the token also
covers older browsers and same-site subdomains.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from microfactory.api.deps import container_of
from microfactory.errors import Forbidden
from microfactory.web import users
from microfactory.web.users import WebUser

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    """Not logged in: the page answers with a redirect to /login (and back here afterwards)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("log in first")
        self.next_path = next_path

    @property
    def location(self) -> str:
        return f"/login?next={quote(self.next_path, safe='/')}"


class CsrfRefused(Forbidden):
    def __init__(self) -> None:
        super().__init__(
            "the form is missing its security token or it has expired: reload the page and send it again"
        )


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or not token:
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def check_csrf(request: Request) -> None:
    """403 unless a POST carries the session's token (form field or header)."""
    if request.method != "POST":
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()  # parsed once: the endpoint's Form fields read the same
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(sent, expected):
        raise CsrfRefused


async def current_user(request: Request) -> WebUser:
    """The logged-in, enabled user; `LoginRequired` (a redirect to /login) otherwise."""
    user_id = request.session.get("uid")
    user = None
    if isinstance(user_id, str):
        user = await run_in_threadpool(_active, request, user_id)
    if user is None:
        request.session.pop("uid", None)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target if request.method == "GET" else "/")
    return user


def _active(request: Request, user_id: str) -> WebUser | None:
    with container_of(request).unit_of_work() as uow:
        return users.active_user(uow, user_id)


def log_in(request: Request, user: WebUser) -> None:
    """A fresh session for the user: a new CSRF token, nothing carried over from before."""
    request.session.clear()
    request.session["uid"] = user.id
    csrf_token(request)


User = Annotated[WebUser, Depends(current_user)]
Csrf = Depends(check_csrf)
