"""Every error the API returns has the same shape: `{"error": ..., "problems": [{"path", "message"}]}`.

The error tree (`microfactory.errors`) is mapped here once: NotFound 404, Conflict 409, Invalid 422,
UpstreamFailure 502, MissingSetting 503; a database that went away for a moment 503 with Retry-After.
Anything else is a bug: 500, the traceback in the log of
`microfactory.api`, and only a reference to it in the answer (an exception's text may hold a secret).
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microfactory.errors import (
    Busy,
    Conflict,
    Forbidden,
    Invalid,
    MicrofactoryError,
    MissingSetting,
    NotFound,
    UpstreamFailure,
    nearest_code,
)

log = logging.getLogger("microfactory.api")
DATABASE_RETRY_AFTER = 2  # seconds; a restarted PostgreSQL takes about this long to accept again

# The one mapping of the error tree (`microfactory.errors`) to HTTP; the most specific kind wins.
STATUS_BY_KIND: dict[type[MicrofactoryError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    UpstreamFailure: 502,
    MissingSetting: 503,
    Forbidden: 403,
    Busy: 503,
}


def error_body(message: str, problems: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"error": message, "problems": problems or []}


def status_of(error: MicrofactoryError) -> int:
    """The HTTP status of an error of the tree: its nearest kind in `STATUS_BY_KIND`, else 500."""
    return nearest_code(error, STATUS_BY_KIND, 500)


def answer(error: MicrofactoryError) -> JSONResponse:
    """The response for an error of the tree: its status, and `{"error", "problems"}`."""
    body = error.as_dict() if isinstance(error, Invalid) else error_body(error.message)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, Busy) else None
    return JSONResponse(body, status_code=status_of(error), headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        problems = [_problem(error, exc.body) for error in errors]
        message = "the request body is not valid"
        if any(e.get("type") == "json_invalid" for e in errors):
            message = "the request body is not valid JSON"
        elif errors and all(e.get("loc", ("",))[0] == "query" for e in errors):
            message = "the query parameters are not valid"
        return JSONResponse(error_body(message, problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if isinstance(exc.__cause__, _TooLarge):  # FastAPI read the body and met the size limit
            return too_large(exc.__cause__.limit)
        unreadable = _unreadable_body(exc)
        if unreadable is not None:
            return JSONResponse(
                error_body("the request body is not valid JSON", [unreadable]), status_code=422
            )
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(MicrofactoryError)
    async def domain_error(_: Request, exc: MicrofactoryError) -> JSONResponse:
        return answer(exc)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        """The database went away for a moment (a restart, a fail-over, a lock): 503 and Retry-After.

        The pool pings a connection before lending it, so the next request gets a fresh one; a
        client that sends again (Shopify does) is served then. Any other database error is a bug.
        """
        if not (isinstance(exc, OperationalError) or exc.connection_invalidated):
            return _bug(request, exc)
        log.warning(
            "database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__
        )
        body = error_body("the database is unavailable for a moment; send again shortly")
        return JSONResponse(body, status_code=503, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        return _bug(request, exc)


def _bug(request: Request, exc: Exception) -> JSONResponse:
    """A bug: 500 with a reference to the logged traceback, never the exception's text."""
    reference = uuid.uuid4().hex[:12]
    log.error("internal error %s on %s %s", reference, request.method, request.url.path, exc_info=exc)
    body = {**error_body("internal error"), "reference": reference}
    return JSONResponse(body, status_code=500)


def _problem(error: Mapping[str, Any], body: object) -> dict[str, str]:
    """A validation error as a problem: its place without the `body` prefix (`lines.0.qty`);
    `body` for the body as a whole (missing, or not JSON: then the line and column)."""
    if error.get("type") == "json_invalid":
        return {"path": "body", "message": _json_message(error, body)}
    location = [str(part) for part in error.get("loc", ()) if part != "body"]
    return {"path": ".".join(location) or "body", "message": str(error.get("msg", "invalid"))}


def _json_message(error: Mapping[str, Any], body: object) -> str:
    """`Expecting value at line 3, column 13`: FastAPI gives only the character position."""
    reason = str((error.get("ctx") or {}).get("error", "JSON decode error"))
    position = error.get("loc", ("body", None))[-1]
    if not isinstance(body, str) or not isinstance(position, int):
        return reason
    line = body.count("\n", 0, position) + 1
    column = position - (body.rfind("\n", 0, position) + 1) + 1
    return f"{reason} at line {line}, column {column}"


def _unreadable_body(exc: StarletteHTTPException) -> dict[str, str] | None:
    """What made FastAPI give up on a body, which its own "error parsing the body" 400 never says.

    FastAPI turns only JSONDecodeError into a validation error; bytes that are not UTF-8, nesting
    deeper than the parser's stack, or integers too long to convert all end as that bare 400.
    """
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return None
    if isinstance(cause, UnicodeDecodeError):
        byte = cause.object[cause.start : cause.start + 1].hex()
        message = f"the body is not UTF-8 text: byte 0x{byte} at position {cause.start}"
    elif isinstance(cause, RecursionError):
        message = "the body is nested too deeply"
    else:
        message = f"the body could not be read as JSON: {cause}"
    return {"path": "", "message": message}


class BodySizeLimit:
    """Refuses bodies over the limit with 413 before the application reads them whole."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, larger: Sequence[tuple[re.Pattern[str], int]] = ()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple(larger)  # (path pattern, limit): uploads that are bigger by nature (images)

    def limit_for(self, path: str) -> int:
        return next((limit for pattern, limit in self.larger if pattern.fullmatch(path)), self.max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(str(scope.get("path", "")))
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        await too_large(limit)({"type": "http"}, _nothing, send)


def too_large(limit: int) -> JSONResponse:
    return JSONResponse(
        error_body(f"request body is larger than the limit of {limit} bytes"), status_code=413
    )


class _TooLarge(Exception):
    """Raised while the application reads a body past the limit; answered 413 wherever it surfaces."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than the limit of {limit} bytes")
        self.limit = limit


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
