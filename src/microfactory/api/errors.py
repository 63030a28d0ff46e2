"""Every error the API returns has the same shape: `{"error": ..., "problems": [{"path", "message"}]}`."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from microfactory.errors import Busy, Conflict, Forbidden, Invalid, NotFound


def error_body(message: str, problems: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return {"error": message, "problems": problems or []}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ()) if part != "body"]
            problems.append({"path": ".".join(location), "message": str(error.get("msg", "invalid"))})
        message = "the request body is not valid"
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            message = "the request body is not valid JSON"
        return JSONResponse(error_body(message, problems), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        unreadable = _unreadable_body(exc)
        if unreadable is not None:
            return JSONResponse(
                error_body("the request body is not valid JSON", [unreadable]), status_code=422
            )
        return JSONResponse(error_body(str(exc.detail)), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Invalid)
    async def problems_error(_: Request, exc: Invalid) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=422)

    @app.exception_handler(Forbidden)
    async def forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse(error_body(exc.message), status_code=403)

    @app.exception_handler(NotFound)
    async def missing(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse(error_body(exc.message), status_code=404)

    @app.exception_handler(Conflict)
    async def conflict(_: Request, exc: Conflict) -> JSONResponse:
        return JSONResponse(error_body(exc.message), status_code=409)

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)}
        return JSONResponse(error_body(exc.message), status_code=503, headers=headers)

    @app.exception_handler(LookupError)
    async def not_found(_: Request, exc: LookupError) -> JSONResponse:
        return JSONResponse(error_body(str(exc).strip("'\"")), status_code=404)


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
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(
            error_body(f"request body is larger than the limit of {self.max_bytes} bytes"), status_code=413
        )
        await response({"type": "http"}, _nothing, send)


class _TooLarge(Exception):
    pass


async def _nothing() -> Message:
    return {"type": "http.disconnect"}
