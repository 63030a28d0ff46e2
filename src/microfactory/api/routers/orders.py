"""Orders and work orders under /api/v1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from microfactory.access.model import check_channel, check_site, hidden_channels
from microfactory.api.auth import Caller, Who
from microfactory.api.deps import Uow
from microfactory.api.paging import PAGED, paged_answer
from microfactory.api.schemas import Cancellation, LineCorrection, OrderIn
from microfactory.orders import listing, service
from microfactory.orders.model import OrderStatus, WorkOrderStatus
from microfactory.orders.paging import Page
from microfactory.orders.views import (
    attention_view,
    history_view,
    line_view,
    order_view,
    retry_view,
    warning_view,
    work_order_view,
)
from microfactory.production.views import work_order_production

router = APIRouter(prefix="/api/v1", tags=["orders"])

# Both databases take a signed 64-bit OFFSET and raise past it (a 500); no list is anywhere near this.
MAX_OFFSET = 2**31 - 1


@router.post(
    "/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=dict[str, Any],
    responses={200: {"description": "the same order was received before: the first one answers"}},
)
async def create_order(body: OrderIn, request: Request, who: Who) -> JSONResponse:
    """Accept an order; sending the same (channel, external_id) again returns the first one (200).

    The id is an idempotency key: other content under it is refused (409, naming what differs).
    The shopify channel is written only by Shopify itself (422). Orders arriving together are
    written together (`orders.intake_queue`): one commit per burst.
    """
    check_channel(who, body.channel)  # 403: this role may not write the channel
    service.check_client_channel(body.channel)  # 422: only the store itself writes a store channel
    view, created = await request.app.state.intake_queue.submit(body.to_new_order(), who.actor)
    return json_answer(view, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def json_answer(view: dict[str, Any], status_code: int) -> JSONResponse:
    """The view as the answer, without FastAPI's response validation and encoder.

    On order intake those two cost more of the loop's time than the rest of the request. A view
    is plain JSON, except the promised dates of a routed line (a repeated order's), which still
    go through the encoder; the bytes are the same either way.
    """
    try:
        return JSONResponse(view, status_code=status_code)
    except TypeError:  # dates: what FastAPI's encoder turns into text
        return JSONResponse(jsonable_encoder(view), status_code=status_code)


@router.get("/orders")
def list_orders(
    uow: Uow,
    who: Who,
    request: Request,
    response: Response,
    channel: str | None = None,
    external_id: str | None = None,
    status_: OrderStatus | None = Query(None, alias="status"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    paged: bool = PAGED,
) -> Any:
    """Orders, oldest first, filtered; with channel and external_id, the one order a store knows by its id.

    A bare list with `X-Total-Count` and a `Link` to the next page, or the envelope with `paged=true`.
    """
    if external_id is not None:
        check_channel(who, channel or "api")
        found = service.find_order(uow, channel or "api", external_id)
        page = Page([found] if found is not None else [], int(found is not None), limit, 0)
    else:
        if channel is not None:
            check_channel(who, channel)
        status_filter = status_.value if status_ is not None else None
        page = listing.page_orders(uow, status_filter, channel, limit, offset, hidden_channels(who))
    return paged_answer(page, order_view, request, response, paged)


@router.get("/orders/{order_id}")
def get_order(order_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    order = service.get_order(uow, order_id)
    check_channel(who, order.channel)
    return order_view(order)


@router.get("/orders/{order_id}/history")
def order_history(order_id: str, uow: Uow, caller: Caller) -> list[dict[str, Any]]:
    """The audit trail of the order, its lines and their work orders, oldest first."""
    return [history_view(event) for event in listing.order_history(uow, order_id)]


@router.patch("/orders/{order_id}/lines/{line_id}")
def correct_line(
    order_id: str, line_id: str, body: LineCorrection, uow: Uow, caller: Caller
) -> dict[str, Any]:
    """Correct a line in needs attention (product, options, qty) and release it if it is now valid."""
    line = service.correct_line(
        uow, order_id, line_id, product=body.product, options=body.options, qty=body.qty, actor=caller
    )
    view = line_view(line)
    uow.commit()
    return view


@router.post("/orders/{order_id}/cancel")
def cancel_order(order_id: str, body: Cancellation, uow: Uow, caller: Caller) -> dict[str, Any]:
    order = service.cancel_order(uow, order_id, body.reason, actor=caller)
    view = order_view(order)
    uow.commit()
    return view


@dataclass(frozen=True)
class AttentionPage:
    """Which page of a needs-attention list: up to 500 rows by default."""

    limit: int = Query(500, ge=1, le=1000)
    offset: int = Query(0, ge=0, le=MAX_OFFSET)
    paged: bool = PAGED


@router.get("/needs-attention")
def needs_attention(
    uow: Uow, caller: Caller, request: Request, response: Response, at: Annotated[AttentionPage, Depends()]
) -> Any:
    """Lines waiting for a correction, with their problems, oldest order first."""
    page = listing.page_needs_attention(uow, at.limit, at.offset)
    return paged_answer(page, attention_view, request, response, at.paged)


@router.get("/needs-attention/warnings")
def needs_attention_warnings(
    uow: Uow, caller: Caller, request: Request, response: Response, at: Annotated[AttentionPage, Depends()]
) -> Any:
    """Open orders that route but carry warnings (a city placed at its country's capital)."""
    page = listing.page_order_warnings(uow, at.limit, at.offset)
    return paged_answer(page, warning_view, request, response, at.paged)


@router.post("/needs-attention/retry")
def retry_needs_attention(uow: Uow, caller: Caller) -> dict[str, Any]:
    """Translate every line in needs attention again against the newest catalogs (after a catalog fix).

    Lines that now translate are released with their work order; the answer counts them and those
    still waiting, with the problems of each. Running it again changes nothing more.
    """
    view = retry_view(service.retry_needs_attention(uow, actor=caller))
    uow.commit()
    return view


@router.get("/work-orders")
def list_work_orders(
    uow: Uow,
    who: Who,
    request: Request,
    response: Response,
    status_: WorkOrderStatus | None = Query(None, alias="status"),
    site: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    paged: bool = PAGED,
) -> Any:
    """Work orders, filtered by status and site, oldest first (paged as `GET /orders`); a site token
    sees its own site's."""
    if who.role == "site" and site is None:
        site = who.site
    check_site(who, site)
    status_filter = status_.value if status_ is not None else None
    page = listing.page_work_orders(uow, status_filter, site, limit, offset)
    return paged_answer(page, work_order_view, request, response, paged)


@router.get("/work-orders/{work_order_id}")
def get_work_order(work_order_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    work_order = service.get_work_order(uow, work_order_id)
    check_site(who, work_order.site)
    return work_order_production(uow, work_order_view(work_order))
