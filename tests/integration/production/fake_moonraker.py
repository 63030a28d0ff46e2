"""A fake Moonraker: a real HTTP server on loopback speaking the shapes of Moonraker's HTTP API.

`POST /server/files/upload` (multipart `file`, `root`; 201 with `item.path`), `POST
/printer/print/start?filename=` (`{"result": "ok"}`; 400 "SD busy" while printing, as Klipper
answers), `GET /printer/objects/query?print_stats&virtual_sdcard`, `POST /printer/print/cancel`,
`GET /server/history/list` (newest first), `GET /server/files/metadata?filename=` (404 for an unknown
file). Answers are wrapped in `{"result": ...}`, errors in `{"error": {"code", "message"}}`; a wrong
`X-Api-Key` is 401. When the printer is `offline` (Klippy disconnected) the `/printer/...` endpoints
answer 503 "Klippy Disconnected"; for a server that does not answer at all, use
`fake_printer.refused_url()`.

    printer = FakePrinter(api_key=KEY, clock=ManualClock())
    with live_server(build_moonraker(printer), lifespan="off") as url: ...
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from tests.integration.production.fake_printer import FakePrinter, form_parts

PRINT_STATS = {  # our fake's states in Klipper's print_stats words
    "idle": "standby",
    "printing": "printing",
    "paused": "paused",
    "completed": "complete",
    "cancelled": "cancelled",
    "error": "error",
}


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "traceback": ""}}, code)


def build_moonraker(printer: FakePrinter) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def key_and_klippy(request: Request, call_next: Any) -> Response:
        key = request.headers.get("x-api-key")
        printer.keys_seen.append(key)
        if printer.api_key is not None and key != printer.api_key:
            return _error(401, "Unauthorized")
        if printer.offline and request.url.path.startswith("/printer/"):
            return _error(503, "Klippy Disconnected")
        response: Response = await call_next(request)
        return response

    @app.post("/server/files/upload")
    async def upload(request: Request) -> JSONResponse:
        parts = form_parts(request.headers["content-type"], await request.body())
        if "file" not in parts:
            return _error(400, "No file name specifed in upload form")
        filename, content = parts["file"]
        root = parts.get("root", (None, b"gcodes"))[1].decode() or "gcodes"
        path = filename or "upload.gcode"
        if printer.current == path and printer.active:
            return _error(403, f"File is loaded, upload not permitted: {path}")
        printer.add(path, content)
        item = {"path": path, "root": root, "size": len(content), "permissions": "rw"}
        return JSONResponse(
            {"item": item, "print_started": False, "print_queued": False, "action": "create_file"}, 201
        )

    @app.post("/printer/print/start")
    def start(filename: str) -> JSONResponse:
        if filename not in printer.files:
            return _error(400, f"Unable to open file: {filename}")
        if printer.active:
            return _error(400, "SD busy")
        printer.start(filename)
        return JSONResponse({"result": "ok"})

    @app.post("/printer/print/cancel")
    def cancel() -> JSONResponse:
        if printer.active:
            printer.cancel()
        return JSONResponse({"result": "ok"})

    @app.post("/printer/print/pause")
    def pause() -> JSONResponse:
        printer.pause()
        return JSONResponse({"result": "ok"})

    @app.get("/printer/objects/query")
    def query(request: Request) -> JSONResponse:
        status: dict[str, Any] = {}
        if "print_stats" in request.query_params:
            status["print_stats"] = _print_stats(printer)
        if "virtual_sdcard" in request.query_params:
            share = printer.progress() if printer.current else 0.0
            size = len(printer.files.get(printer.current or "", b""))
            status["virtual_sdcard"] = {
                "file_path": f"/home/pi/printer_data/gcodes/{printer.current}" if printer.current else None,
                "progress": share,
                "is_active": printer.state == "printing",
                "file_position": int(size * share),
                "file_size": size,
            }
        return JSONResponse({"result": {"eventtime": printer.clock(), "status": status}})

    @app.get("/server/history/list")
    def history(limit: int = 50) -> JSONResponse:
        printer.tick()
        records = list(reversed(printer.history))[:limit]
        jobs = [
            {
                "job_id": f"{index:06X}",
                "exists": True,
                "filename": record.file,
                "status": record.outcome,
                "start_time": record.started,
                "end_time": record.ended,
                "print_duration": record.ended - record.started,
                "total_duration": record.ended - record.started,
                "metadata": {},
            }
            for index, record in enumerate(records)
        ]
        return JSONResponse({"result": {"count": len(printer.history), "jobs": jobs}})

    @app.get("/server/files/metadata")
    def metadata(filename: str) -> JSONResponse:
        if filename not in printer.files:
            return _error(404, f"Metadata not available for <{filename}>")
        return JSONResponse({"result": {"filename": filename, "size": len(printer.files[filename])}})

    return app


def _print_stats(printer: FakePrinter) -> dict[str, Any]:
    printer.tick()
    duration = printer.progress() * printer.print_seconds if printer.current else 0.0
    return {
        "filename": printer.current or "",
        "total_duration": duration,
        "print_duration": duration,
        "filament_used": 0.0,
        "state": PRINT_STATS[printer.state],
        "message": printer.error,
        "info": {"total_layer": None, "current_layer": None},
    }
