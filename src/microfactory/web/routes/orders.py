"""Orders: the pipeline by state with filters and search, an order's trace, and needs attention.

Correcting a line calls `orders.service.correct_line`, the use case of `PATCH /api/v1/orders/...`
and `microfactory orders correct`: it releases the line when it now translates.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from microfactory.api.deps import Uow, container_of
from microfactory.db.engine import bounded_write_turn
from microfactory.errors import Invalid
from microfactory.orders import listing
from microfactory.orders import service as orders_service
from microfactory.orders.model import OrderStatus
from microfactory.orders.views import attention_view, warning_view
from microfactory.problems import Problem
from microfactory.web.access import check_action, check_order_sites, check_page
from microfactory.web.auth import Csrf, User
from microfactory.web.queries import order_trace
from microfactory.web.render import flash, page

router = APIRouter()
PAGE_SIZE = 50
OPTION_PREFIX = "option."
STATUSES = [status.value for status in OrderStatus]


@router.get("/orders")
def orders_page(
    request: Request,
    user: User,
    uow: Uow,
    status: str = Query("", max_length=40),
    channel: str = Query("", max_length=40),
    q: str = Query("", max_length=120),
    offset: int = Query(0, ge=0, le=2**31 - 1),
) -> Response:
    """Orders by state: counts per state, and the list filtered by state, channel and a search."""
    check_page(user.principal, "orders")
    shown_status = status if status in STATUSES else None
    found = listing.page_orders(uow, shown_status, channel or None, PAGE_SIZE, offset, search=q or None)
    return page(
        request,
        "orders.html",
        user,
        orders=found,
        counts=listing.order_counts(uow),
        statuses=STATUSES,
        status=shown_status or "",
        channel=channel,
        q=q,
    )


@router.get("/orders/{order_id}")
def order_page(order_id: str, request: Request, user: User, uow: Uow) -> Response:
    """The order's whole trace and its history; a site user only reads orders with work at their site."""
    check_page(user.principal, "order")
    trace = order_trace(uow, order_id)
    check_order_sites(user.principal, trace["sites"])
    return page(request, "order.html", user, **trace)


@router.get("/needs-attention")
def needs_attention_page(request: Request, user: User, uow: Uow) -> Response:
    check_page(user.principal, "needs-attention")
    waiting = listing.page_needs_attention(uow, limit=200)
    warnings = listing.page_order_warnings(uow, limit=200)
    return page(
        request,
        "needs_attention.html",
        user,
        lines=[attention_view(line) for line in waiting.items],
        total=waiting.total,
        warnings=[warning_view(order) for order in warnings.items],
        may_correct=user.role in ("admin", "planner"),
    )


@router.post("/needs-attention/{order_id}/{line_id}", dependencies=[Csrf])
async def correct_line(order_id: str, line_id: str, request: Request, user: User) -> Response:
    """Correct a line's product, quantity and options from the form, and release it if it translates."""
    check_action(user.principal, "correct-line")
    form = await request.form()
    options = {
        str(key)[len(OPTION_PREFIX) :]: str(value)
        for key, value in form.multi_items()
        if str(key).startswith(OPTION_PREFIX) and str(key) != OPTION_PREFIX
    }
    product = str(form.get("product") or "").strip() or None
    qty = _qty(str(form.get("qty") or ""))
    status, problems = await run_in_threadpool(
        _correct, request, order_id, line_id, product, options, qty, user.username
    )
    if status == "needs_attention":
        text = "; ".join(f"{p['path']}: {p['message']}" for p in problems)
        flash(request, f"Line {line_id} still needs attention: {text}", "error")
    else:
        flash(request, f"Line {line_id} corrected and {status}.")
    return RedirectResponse(f"/needs-attention#line-{line_id}", status_code=303)


def _qty(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or not 1 <= int(value) <= 100_000:
        raise Invalid("the correction is not valid", [Problem("qty", "a whole number from 1 to 100000")])
    return int(value)


def _correct(
    request: Request,
    order_id: str,
    line_id: str,
    product: str | None,
    options: dict[str, str],
    qty: int | None,
    actor: str,
) -> tuple[str, list[dict[str, str]]]:
    container = container_of(request)
    with bounded_write_turn(container.engine), container.unit_of_work() as uow:
        line = orders_service.correct_line(
            uow, order_id, line_id, product=product, options=options or None, qty=qty, actor=actor
        )
        result = line.status, list(line.problems or [])
        uow.commit()
    return result
