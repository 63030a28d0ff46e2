"""Every error the API returns has the same shape: `{"error": ..., "problems": [{"path", "message"}]}`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microfactory.errors import Conflict, Invalid, NotFound


def error_body(message: str, problems: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"error": message, "problems": problems or []}


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

    @app.exception_handler(Invalid)
    async def problems_error(_: Request, exc: Invalid) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=422)

    @app.exception_handler(NotFound)
    async def not_found_error(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(error_body(exc.message), status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(error_body(exc.message), status_code=409)

    @app.exception_handler(LookupError)
    async def not_found(_: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse(error_body(str(exc).strip("'\"")), status_code=404)


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

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await too_large(self.max_bytes)({"type": "http"}, _nothing, send)


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
