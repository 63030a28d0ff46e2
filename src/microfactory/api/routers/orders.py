"""Orders and work orders under /api/v1."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, HTTPException, Query, Request, Response, status

from microfactory.access.model import check_channel, check_site, hidden_channels
from microfactory.api.auth import Caller, Who
from microfactory.api.deps import Uow
from microfactory.api.schemas import Cancellation, LineCorrection, OrderIn
from microfactory.orders import audit, service
from microfactory.orders.views import line_view, order_view, work_order_view

router = APIRouter(prefix="/api/v1", tags=["orders"])

# Both databases take a signed 64-bit OFFSET and raise past it (a 500); no list is anywhere near this.
MAX_OFFSET = 2**31 - 1


@router.post("/orders", status_code=status.HTTP_201_CREATED)
async def create_order(body: OrderIn, request: Request, who: Who, response: Response) -> dict[str, Any]:
    """Accept an order; sending the same (channel, external_id) again returns the first one (200).

    Orders arriving together are written together (`orders.intake_queue`): one commit per burst.
    """
    check_channel(who, body.channel)
    view, created = await request.app.state.intake_queue.submit(body.to_new_order())
    if not created:
        response.status_code = status.HTTP_200_OK
    return cast(dict[str, Any], view)


@router.get("/orders")
def list_orders(
    uow: Uow,
    who: Who,
    channel: str | None = None,
    external_id: str | None = None,
    status_: str | None = Query(None, alias="status"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[dict[str, Any]]:
    """Orders, filtered; with channel and external_id, the one order a store knows by its own id."""
    if external_id is not None:
        check_channel(who, channel or "api")
        found = service.find_order(uow, channel or "api", external_id)
        return [order_view(found)] if found is not None else []
    if channel is not None:
        check_channel(who, channel)
    hidden = hidden_channels(who)
    return [order_view(o) for o in service.list_orders(uow, status_, channel, limit, offset, hidden)]


@router.get("/orders/{order_id}")
def get_order(order_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    order = service.get_order(uow, order_id)
    check_channel(who, order.channel)
    return order_view(order)


@router.get("/orders/{order_id}/history")
def order_history(order_id: str, uow: Uow, caller: Caller) -> list[dict[str, Any]]:
    """The audit trail of the order, its lines and their work orders, oldest first."""
    order = service.get_order(uow, order_id)
    ids = [order.id] + [line.id for line in order.lines]
    ids += [line.work_order.id for line in order.lines if line.work_order is not None]
    return [
        {
            "entity": event.entity,
            "entity_id": event.entity_id,
            "from": event.from_status,
            "to": event.to_status,
            "reason": event.reason,
            "actor": event.actor,
            "at": event.at.isoformat(),
        }
        for event in audit.history(uow, ids)
    ]


@router.patch("/orders/{order_id}/lines/{line_id}")
def correct_line(
    order_id: str, line_id: str, body: LineCorrection, uow: Uow, caller: Caller
) -> dict[str, Any]:
    """Correct a line in needs attention (product, options, qty) and release it if it is now valid."""
    try:
        line = service.correct_line(
            uow, order_id, line_id, product=body.product, options=body.options, qty=body.qty, actor=caller
        )
    except service.LineNotCorrectable as error:
        raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from error
    view = line_view(line)
    uow.commit()
    return view


@router.post("/orders/{order_id}/cancel")
def cancel_order(order_id: str, body: Cancellation, uow: Uow, caller: Caller) -> dict[str, Any]:
    order = service.cancel_order(uow, order_id, body.reason, actor=caller)
    view = order_view(order)
    uow.commit()
    return view


@router.get("/needs-attention")
def needs_attention(uow: Uow, caller: Caller) -> list[dict[str, Any]]:
    """Every line waiting for a correction, with its problems."""
    return [{"order_id": line.order_id, **line_view(line)} for line in service.lines_needing_attention(uow)]


@router.get("/work-orders")
def list_work_orders(
    uow: Uow,
    who: Who,
    status_: str | None = Query(None, alias="status"),
    site: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
) -> list[dict[str, Any]]:
    """Work orders, filtered by status and site, oldest first; a site token sees its own site's."""
    if who.role == "site" and site is None:
        site = who.site
    check_site(who, site)
    return [work_order_view(wo) for wo in service.list_work_orders(uow, status_, site, limit, offset)]


@router.get("/work-orders/{work_order_id}")
def get_work_order(work_order_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    work_order = service.get_work_order(uow, work_order_id)
    check_site(who, work_order.site)
    return work_order_view(work_order)
