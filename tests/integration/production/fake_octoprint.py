"""A fake OctoPrint: a real HTTP server on loopback speaking the shapes of OctoPrint's REST API.

`POST /api/files/local` (multipart `file`, 201 with `files.local.name`), `GET /api/files/local/{name}`
(with `prints.last` once printed), `POST /api/files/local/{name}` (`select` + `print`; 409 "Printer
is not operational" or "Printer is already printing"), `GET /api/job` (`state` text,
`progress.completion` in percent), `POST /api/job` (`cancel`, `pause`; 409 without an active job).
An invalid `X-Api-Key` is 403, as OctoPrint answers. When the printer is `offline` the server still
answers, with the state "Offline" (the serial connection is closed); for a server that does not
answer at all, use `fake_printer.refused_url()`.

    printer = FakePrinter(api_key=KEY, clock=ManualClock())
    with live_server(build_octoprint(printer), lifespan="off") as url: ...
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.integration.production.fake_printer import FakePrinter, form_parts

STATE_TEXT = {
    "idle": "Operational",
    "printing": "Printing",
    "paused": "Paused",
    "completed": "Operational",
    "cancelled": "Operational",
    "error": "Error",
}


def build_octoprint(printer: FakePrinter) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def key_check(request: Request, call_next: Any) -> Response:
        key = request.headers.get("x-api-key")
        printer.keys_seen.append(key)
        if printer.api_key is not None and key != printer.api_key:
            return JSONResponse(
                {"error": "You don't have the permission to access the requested resource."}, 403
            )
        response: Response = await call_next(request)
        return response

    @app.post("/api/files/local")
    async def upload(request: Request) -> JSONResponse:
        parts = form_parts(request.headers["content-type"], await request.body())
        if "file" not in parts:
            return JSONResponse({"error": "No file to upload and no folder to create"}, 400)
        filename, content = parts["file"]
        name = (filename or "upload.gcode").replace(" ", "_")  # OctoPrint sanitises names
        if printer.current == name and printer.active:
            return JSONResponse({"error": "Trying to overwrite file that is currently being printed"}, 409)
        printer.add(name, content)
        refs = {"resource": f"{request.base_url}api/files/local/{name}"}
        local = {"name": name, "path": name, "origin": "local", "refs": refs}
        return JSONResponse({"files": {"local": local}, "done": True}, 201)

    @app.get("/api/files/local/{name}")
    def file_info(name: str) -> JSONResponse:
        if name not in printer.files:
            return JSONResponse({"error": f"File not found: {name}"}, 404)
        info: dict[str, Any] = {
            "name": name,
            "path": name,
            "origin": "local",
            "size": len(printer.files[name]),
        }
        printer.tick()
        last = printer.last_print(name)
        if last is not None:
            success = last.outcome == "completed"
            info["prints"] = {
                "success": int(success),
                "failure": int(not success),
                "last": {"success": success, "date": last.ended, "printTime": last.ended - last.started},
            }
        return JSONResponse(info)

    @app.post("/api/files/local/{name}", response_model=None)
    async def file_command(name: str, request: Request) -> Response:
        body = await request.json()
        if name not in printer.files:
            return JSONResponse({"error": f"File not found on 'local': {name}"}, 404)
        if body.get("command") != "select":
            return JSONResponse({"error": f"Unknown command: {body.get('command')}"}, 400)
        if body.get("print"):
            if printer.offline or printer.state == "error":
                return JSONResponse({"error": "Printer is not operational"}, 409)
            if printer.active:
                return JSONResponse({"error": "Printer is already printing"}, 409)
            printer.start(name)
        else:
            printer.current, printer.state = name, "idle"
        return Response(status_code=204)

    @app.get("/api/job")
    def job() -> JSONResponse:
        return JSONResponse(_job(printer))

    @app.post("/api/job", response_model=None)
    async def job_command(request: Request) -> Response:
        command = (await request.json()).get("command")
        if not printer.active or printer.offline:
            return JSONResponse(
                {"error": "Printer is neither printing nor paused, 'cancel' command cannot be performed"}, 409
            )
        if command == "cancel":
            printer.cancel()
        elif command == "pause":
            printer.pause()
        else:
            return JSONResponse({"error": f"Unknown command: {command}"}, 400)
        return Response(status_code=204)

    return app


def _job(printer: FakePrinter) -> dict[str, Any]:
    if printer.offline:
        file: dict[str, Any] = {"name": None, "origin": None, "size": None, "date": None}
        progress: dict[str, Any] = {
            "completion": None,
            "filepos": None,
            "printTime": None,
            "printTimeLeft": None,
        }
        return {"job": {"file": file}, "progress": progress, "state": "Offline", "error": ""}
    share = printer.progress() if printer.current else 0.0
    name = printer.current
    size = len(printer.files.get(name, b"")) if name else None
    state = STATE_TEXT[printer.state]
    if printer.state == "error":
        state = f"Error: {printer.error}"
    return {
        "job": {
            "file": {"name": name, "origin": "local" if name else None, "size": size},
            "estimatedPrintTime": printer.print_seconds,
        },
        "progress": {
            "completion": None if name is None else round(share * 100, 2),
            "filepos": None if size is None else int(size * share),
            "printTime": share * printer.print_seconds,
            "printTimeLeft": (1 - share) * printer.print_seconds,
        },
        "state": state,
        "error": printer.error,
    }
