"""Errors on web pages are pages: the same error tree and statuses as the API, shown as HTML.

The app's JSON handlers stay for every route but the web UI's; a web page gets an HTML page with the
message (403 names what the user may not do, 404 what was not found, 422 every problem), and a
request that is not logged in is sent to /login.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import RedirectResponse, Response

from microfactory.api.errors import status_of
from microfactory.errors import Invalid, MicrofactoryError
from microfactory.web.auth import LoginRequired
from microfactory.web.sessions import NOT_WEB

Handler = Callable[[Request, Any], Awaitable[Response] | Response]


def is_web(request: Request) -> bool:
    """A page of the web UI, or a browser asking for an unknown page; everything else keeps JSON."""
    route = request.scope.get("route")
    endpoint = getattr(route, "endpoint", None)
    if endpoint is not None:
        return str(getattr(endpoint, "__module__", "")).startswith("microfactory.web.")
    wants_html = "text/html" in request.headers.get("accept", "")
    return wants_html and not request.url.path.startswith(NOT_WEB)


def install(app: FastAPI) -> None:
    """Put the HTML handlers in front of the app's JSON ones, for web paths only."""

    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("HX-Request"):  # htmx: a whole-page redirect, not a login form in a box
            return Response(status_code=401, headers={"HX-Redirect": exc.location})
        return RedirectResponse(exc.location, status_code=303)

    app.add_exception_handler(LoginRequired, login_required)  # type: ignore[arg-type]
    for kind in (MicrofactoryError, StarletteHTTPException, RequestValidationError):
        _wrap(app, kind)


def _wrap(app: FastAPI, kind: type[Exception]) -> None:
    json_handler: Handler = app.exception_handlers[kind]

    async def handler(request: Request, exc: Exception) -> Response:
        if not is_web(request):
            answer = json_handler(request, exc)
            return await answer if isinstance(answer, Awaitable) else answer
        return error_page(request, exc)

    app.add_exception_handler(kind, handler)


def error_page(request: Request, exc: Exception) -> Response:
    from microfactory.web.render import page

    problems: list[dict[str, str]] = []
    headers: dict[str, str] = {}
    if isinstance(exc, MicrofactoryError):
        status, message = status_of(exc), exc.message
        if isinstance(exc, Invalid):
            problems = [{"path": p.path, "message": p.message} for p in exc.problems]
    elif isinstance(exc, StarletteHTTPException):
        status, message = exc.status_code, str(exc.detail)
        headers = dict(exc.headers or {})  # Retry-After of a 429, Allow of a 405: kept on the page
    else:
        status, message = 422, "the form is not valid"
        problems = [
            {"path": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": str(e.get("msg", ""))}
            for e in exc.errors()  # type: ignore[attr-defined]
        ]
    titles = {
        403: "Not allowed",
        404: "Not found",
        409: "Cannot do that now",
        422: "Not valid",
        429: "Too many attempts",
    }
    response = page(
        request,
        "error.html",
        None,
        status_code=status,
        title=titles.get(status, "Something went wrong"),
        message=message,
        problems=problems,
    )
    response.headers.update(headers)
    return response
