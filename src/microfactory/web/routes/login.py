"""GET/POST /login and /logout: argon2-checked passwords, a throttle, and a fresh signed session.

An unknown username and a wrong password get the same message and status; a few failures in a row
(per username and per address) get 429 with Retry-After before the password is even checked.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from microfactory.api.deps import container_of
from microfactory.api.rate_limits import rate_limited
from microfactory.web import users
from microfactory.web.auth import Csrf, LoginRequired, current_user, log_in
from microfactory.web.render import page
from microfactory.web.throttle import LoginThrottle
from microfactory.web.users import WebUser

router = APIRouter()
# Every attempt counts against MICROFACTORY_RATE_LIMIT_LOGIN per client, before CSRF or the password
# (the throttle below only counts wrong passwords, per username and address).
LoginLimit = Depends(rate_limited("login"))
WRONG = "Wrong username or password."


def home_of(user: WebUser) -> str:
    return f"/sites/{user.site}" if user.role == "site" and user.site else "/"


def safe_next(target: str | None, user: WebUser) -> str:
    """Only a path on this site (never `//elsewhere` or a full URL): no open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return home_of(user)


def throttle_of(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    try:
        user = await current_user(request)
    except LoginRequired:  # not logged in: show the form
        return page(request, "login.html", None, next=next or "", error=None, username="")
    return RedirectResponse(safe_next(next, user), status_code=303)


@router.post("/login", dependencies=[LoginLimit, Csrf])
def login(
    request: Request,
    username: str = Form("", max_length=200),
    password: str = Form("", max_length=2000),
    next: str = Form("", max_length=2000),
) -> Response:
    if not username.strip() or not password:  # nothing to check: say what is missing, count nothing
        missing = "your username" if not username.strip() else "your password"
        if not username.strip() and not password:
            missing = "your username and password"
        message = f"Enter {missing}."
        return page(request, "login.html", None, 422, next=next, error=message, username=username)
    throttle = throttle_of(request)
    keys = (f"user:{users.normal_username(username)}", f"ip:{request.client.host if request.client else '?'}")
    wait = throttle.retry_after(*keys)
    if wait:
        message = f"Too many wrong passwords. Try again in {wait} seconds."
        response = page(request, "login.html", None, 429, next=next, error=message, username=username)
        response.headers["Retry-After"] = str(wait)
        return response
    with container_of(request).unit_of_work() as uow:
        user = users.authenticate(uow, username, password)
    if user is None:
        throttle.failed(*keys)
        return page(request, "login.html", None, 401, next=next, error=WRONG, username=username)
    throttle.succeeded(keys[0])
    log_in(request, user)
    return RedirectResponse(safe_next(next, user), status_code=303)


@router.get("/logout")
async def logout_form(request: Request) -> Response:
    """A page with the log-out button (a GET never changes anything)."""
    try:
        user = await current_user(request)
    except LoginRequired:
        return RedirectResponse("/login", status_code=303)
    return page(request, "logout.html", user)


@router.post("/logout", dependencies=[Csrf])
def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/login?logged_out=1", status_code=303)
