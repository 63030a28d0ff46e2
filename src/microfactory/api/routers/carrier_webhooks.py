"""Carrier events: `POST /webhooks/easypost`, `/webhooks/shippo`, `/webhooks/courier/{partner}`.

Public (no bearer token): each delivery is verified by its partner's carrier
(`logistics.webhooks.receive`): 403 on a bad or missing signature, 422 on a malformed body, 413 over
the size limit, 200 otherwise, also for events that are not about our parcels. The work runs in a
worker thread, never on the event loop.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from microfactory.api.deps import container_of
from microfactory.api.errors import error_body
from microfactory.logistics.webhooks import MAX_BODY_BYTES, receive

router = APIRouter(tags=["carrier events"])
RESPONSES: dict[int | str, dict[str, Any]] = {403: {}, 404: {}, 409: {}, 413: {}, 422: {}}


async def _receive(request: Request, kind: str | None, partner: str | None) -> Any:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse(error_body(f"the body is larger than {MAX_BODY_BYTES} bytes"), status_code=413)
    container = container_of(request)
    return await run_in_threadpool(
        receive,
        container.session_factory,
        container.carriers,
        lambda: datetime.now(UTC),
        body,
        dict(request.headers),
        dict(request.query_params),
        kind=kind,
        partner=partner,
    )


@router.post("/webhooks/easypost", responses=RESPONSES)
async def easypost_events(request: Request) -> Any:
    """EasyPost's tracker events, signed with `X-Hmac-Signature`."""
    return await _receive(request, "easypost", None)


@router.post("/webhooks/shippo", responses=RESPONSES)
async def shippo_events(request: Request) -> Any:
    """Shippo's track_updated events; the webhook URL carries the partner's `?token=`."""
    return await _receive(request, "shippo", None)


@router.post("/webhooks/courier/{partner}", responses=RESPONSES)
async def courier_events(request: Request, partner: str) -> Any:
    """A courier's signed status callback, or any partner whose carrier reads its own events."""
    return await _receive(request, None, partner)
