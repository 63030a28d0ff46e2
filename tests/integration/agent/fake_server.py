"""A small stand-in for the server's agent API, in memory, on a real loopback port.

It implements the two agent endpoints and the site view as the contract shapes them, applies each
report id once (a resend with the same content is a `duplicate`, other content `refused`), refuses
reports out of order, and can lose the answer to a batch it applied (a 503 after the work is done),
to prove a resend doubles nothing. `SiteServer` stops and starts it on the same port: a cut link.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from tests.integration.live_server import LoopbackServer

MOVES = {"started": ({"released", "failed"}, "running"), "finished": ({"running"}, "done")}
MOVES["failed"] = ({"running"}, "failed")


@dataclass
class FakeSite:
    """What the server holds for one site, and what it saw."""

    site: str
    token: str
    machines: list[dict[str, Any]]
    operations: dict[str, dict[str, Any]]
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    applied: list[dict[str, Any]] = field(default_factory=list)  # in the order they were applied
    received: list[str] = field(default_factory=list)  # every report id posted, resends too
    lose_next_answer: bool = False

    def ready(self, operation: dict[str, Any]) -> bool:
        return all(self.operations[before]["status"] == "done" for before in operation["after"])

    def apply(self, report: dict[str, Any]) -> dict[str, Any]:
        self.received.append(report["id"])
        seen = self.reports.get(report["id"])
        if seen is not None:
            same = seen == report
            return _result(report, "duplicate" if same else "refused", None if same else "other content")
        operation = self.operations.get(report["operation_id"])
        if operation is None:
            return _result(report, "refused", "no such operation")
        allowed, to = MOVES[report["event"]]
        if operation["status"] not in allowed:
            return _result(report, "refused", f"operation is {operation['status']}")
        operation["status"] = to
        self.reports[report["id"]] = report
        self.applied.append(report)
        return _result(report, "applied", None)


def _result(report: dict[str, Any], outcome: str, reason: str | None) -> dict[str, Any]:
    return {"id": report["id"], "outcome": outcome, "reason": reason}


def fake_app(state: FakeSite) -> FastAPI:
    app = FastAPI()
    lock = threading.Lock()

    def check(site: str, authorization: str | None) -> None:
        if authorization != f"Bearer {state.token}":
            raise HTTPException(401, "wrong token")
        if site != state.site:
            raise HTTPException(403, "another site")

    @app.get("/api/v1/network/sites/{site}")
    def site_view(site: str, authorization: str | None = Header(None)) -> dict[str, Any]:
        check(site, authorization)
        return {"id": site, "machines": state.machines}

    @app.get("/api/v1/sites/{site}/operations")
    def operations(site: str, status: str, authorization: str | None = Header(None)) -> list[dict[str, Any]]:
        check(site, authorization)
        with lock:
            chosen = [op for op in state.operations.values() if op["status"] == status]
            return [{**op, "ready": state.ready(op)} for op in sorted(chosen, key=lambda op: op["start"])]

    @app.post("/api/v1/sites/{site}/reports")
    async def reports(site: str, request: Request, authorization: str | None = Header(None)) -> Any:
        check(site, authorization)
        body = await request.json()
        with lock:
            results = [state.apply(report) for report in body["reports"]]
            if state.lose_next_answer:
                state.lose_next_answer = False
                return JSONResponse({"error": "the answer was lost"}, status_code=503)
        return {"results": results}

    return app


class SiteServer(LoopbackServer):
    """The fake agent API for one site."""

    def __init__(self, state: FakeSite) -> None:
        super().__init__(fake_app(state))
        self.state = state
