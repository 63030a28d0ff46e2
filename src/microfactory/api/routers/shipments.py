"""Shipments of store orders under /api/v1: say "this parcel shipped", and Shopify is told.

Until the logistics capability exists, this is how a site (or an operator) reports a parcel: its
tracking number and, when an order leaves in several parcels, the lines and quantities it holds.
The shipment is recorded with its outbox message (`channels.shopify.fulfilment_sync`) and
`microfactory shopify sync-fulfilments` creates the fulfillment in Shopify; the shipment shows how
far it got.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field

from microfactory.api.auth import Caller
from microfactory.api.deps import Uow
from microfactory.channels.shopify import fulfilment_sync

router = APIRouter(prefix="/api/v1", tags=["shipments"])


class ShipmentLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: str = Field(..., min_length=1, max_length=40, description="our order line id (line_...)")
    # No lower bound here: the service refuses qty < 1 with a message that names the line.
    qty: int = Field(..., le=100_000, strict=True, description="how many of the line the parcel holds")


class ShipmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tracking_number: str = Field(..., min_length=1, max_length=120)
    company: str | None = Field(
        None, max_length=120, description="carrier, as Shopify spells it (DHL Express)"
    )
    url: str | None = Field(None, max_length=500, description="tracking URL")
    lines: list[ShipmentLineIn] | None = Field(
        None,
        min_length=1,
        max_length=1000,
        description="what the parcel holds; omitted: everything still open",
    )
    idempotency_key: str | None = Field(
        None, min_length=1, max_length=120, description="default: order id and tracking number"
    )
    override_reason: str | None = Field(
        None, max_length=500, description="ship work that is not made yet, and why (audited)"
    )


@router.post(
    "/orders/{order_id}/shipments",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "the same key was queued before"}, 404: {}, 409: {}, 422: {}},
)
def create_shipment(
    order_id: str, body: ShipmentIn, uow: Uow, caller: Caller, response: Response
) -> dict[str, Any]:
    """Queue a shipment for the store: 201 when new, 200 when the same key was queued before.

    Lines that are not the order's, or quantities outside 1..the line's quantity, or a blank tracking
    number are refused (422, each problem named); an order that did not come from Shopify, work
    that is not made (without `override_reason`) and a key used for another parcel are refused (409).
    The parcel's lines move to shipped.
    """
    lines = (
        None
        if body.lines is None
        else [fulfilment_sync.ShipmentLine(line.line_id, line.qty) for line in body.lines]
    )
    row, created = fulfilment_sync.queue_shipment(
        uow,
        order_id,
        body.tracking_number,
        body.company,
        body.url,
        body.idempotency_key,
        lines,
        override_reason=body.override_reason,
        actor=caller,
    )
    view = fulfilment_sync.shipment_view(row)
    uow.commit()
    if not created:
        response.status_code = status.HTTP_200_OK
    return view


@router.get("/orders/{order_id}/shipments", responses={404: {}})
def list_shipments(order_id: str, uow: Uow, caller: Caller) -> list[dict[str, Any]]:
    """The order's shipments, oldest first, with their status and last error from Shopify."""
    return [fulfilment_sync.shipment_view(row) for row in fulfilment_sync.list_shipments(uow, order_id)]
