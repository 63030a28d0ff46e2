"""Parcels under /api/v1: pack an order, list and show shipments, print a label, retry a handoff.

Planners and admins see every site; a `site` token packs, sees, prints and retries its own site's
parcels only (403 elsewhere). Packing answers 201 with the parcels made, 200 when they were packed
before.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from microfactory.api.auth import Who
from microfactory.api.deps import Uow
from microfactory.api.paging import PAGED, paged_answer
from microfactory.logistics import manual_entry, packing, service
from microfactory.logistics.views import event_view, handoff_message, shipment_view

router = APIRouter(prefix="/api/v1", tags=["shipments"])


class PackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[str] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="order line ids; omitted: every site whose lines are all made",
    )
    override_reason: str | None = Field(
        None, min_length=1, max_length=500, description="pack work that quality holds, and why (audited)"
    )


@router.post(
    "/orders/{order_id}/pack", status_code=status.HTTP_201_CREATED, responses={404: {}, 409: {}, 422: {}}
)
def pack_order(
    order_id: str, uow: Uow, who: Who, response: Response, body: PackIn | None = None
) -> dict[str, Any]:
    """Pack made lines into parcels (one per site); each parcel's label is then bought in the background.

    No body is the same as `{}`: every site whose lines are all made."""
    body = body or PackIn()
    done = packing.pack(
        uow, order_id, line_ids=body.lines, override_reason=body.override_reason, actor=who.actor, who=who
    )
    views = [shipment_view(row) for row in done.shipments]
    uow.commit()
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return {"shipments": views, "waiting": done.waiting}


@router.get("/shipments", responses={403: {}, 422: {}})
def list_shipments(
    request: Request,
    response: Response,
    uow: Uow,
    who: Who,
    status_: str | None = Query(None, alias="status", max_length=30),
    site: str | None = Query(None, max_length=80),
    order_id: str | None = Query(None, max_length=40),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
    paged: bool = PAGED,
) -> Any:
    """Parcels oldest first (`X-Total-Count`, `Link`), by status, site or order."""
    page = service.list_shipments(
        uow, status=status_, site=site, order_id=order_id, limit=limit, offset=offset, who=who
    )
    return paged_answer(page, shipment_view, request, response, paged)


@router.get("/shipments/{shipment_id}", responses={403: {}, 404: {}})
def show_shipment(shipment_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    """One parcel with its handoff's progress and its tracking events."""
    row = service.get_shipment(uow, shipment_id, who)
    view = shipment_view(row, handoff_message(uow.session, row.id))
    view["events"] = [event_view(event) for event in service.events(uow, row.id)]
    return view


@router.get(
    "/shipments/{shipment_id}/label",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, 403: {}, 404: {}, 409: {}},
)
def shipment_label(shipment_id: str, uow: Uow, who: Who) -> Response:
    """The label PDF, to print at the packing station (409 until the label is bought)."""
    pdf = service.label(uow, shipment_id, who)
    headers = {"Content-Disposition": f'inline; filename="{shipment_id}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post("/shipments/{shipment_id}/retry", responses={403: {}, 404: {}, 409: {}})
def retry_shipment(shipment_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    """Send the parcel's handoff again now (failed, dead, unknown outcome, or waiting for its backoff)."""
    message = service.retry(uow, shipment_id, who)
    row = service.get_shipment(uow, shipment_id, who)
    view = shipment_view(row, message)
    uow.commit()
    return view


class TrackingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_number: str = Field(..., min_length=1, max_length=120, description="what the courier gave")
    carrier: str | None = Field(
        None, min_length=1, max_length=80, description="the carrier's name, for the store"
    )
    url: str | None = Field(None, max_length=500, description="the carrier's tracking page")


@router.post("/shipments/{shipment_id}/tracking", responses={403: {}, 404: {}, 409: {}, 422: {}})
def record_tracking(shipment_id: str, body: TrackingIn, uow: Uow, who: Who) -> dict[str, Any]:
    """Enter the tracking number of a parcel booked by hand; the handoff then finishes (shipped, store told)."""
    row = manual_entry.record_tracking(
        uow, shipment_id, body.tracking_number, carrier=body.carrier, url=body.url, actor=who.actor, who=who
    )
    view = shipment_view(row)
    uow.commit()
    return view
