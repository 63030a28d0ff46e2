"""The shipments pages: parcels with status, partner, tracking and promised vs delivered, the label
to print, a retry for a failed handoff, and packing of orders that are ready.

Every action is logistics' own use case, as the API's: `packing.pack`, `service.retry`,
`service.label`, each given the person's principal, so a site operator packs, prints and retries
their own site's parcels only (403 by page, by URL and by form).
"""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from microfactory.api.deps import Uow
from microfactory.errors import Conflict, Invalid
from microfactory.logistics import packing, service
from microfactory.web import shipment_queries as queries
from microfactory.web.access import check_action, check_page, may_do
from microfactory.web.auth import Csrf, User
from microfactory.web.render import flash, page
from microfactory.web.sections import SHIPMENT_SECTIONS, gather

router = APIRouter()


@router.get("/shipments")
def shipments_page(request: Request, user: User, uow: Uow) -> Response:
    check_page(user.principal, "shipments")
    office = user.role != "site"
    return page(
        request,
        "shipments.html",
        user,
        **queries.parcels(uow, user.principal),
        ready=queries.ready_to_pack(uow, user.principal),
        partners=queries.partners(uow) if office else [],
        alerts=queries.alerts(uow, user.principal),
        sections=gather(uow, SHIPMENT_SECTIONS, None) if office else [],
        site=user.site if not office else None,
        may_pack=may_do(user.principal, "pack"),
        may_retry=may_do(user.principal, "retry-handoff"),
    )


@router.get("/shipments/{shipment_id}")
def parcel_page(shipment_id: str, request: Request, user: User, uow: Uow) -> Response:
    """One parcel: its lines and units, rate, label, tracking events and handoff."""
    check_page(user.principal, "shipments")
    found = queries.parcel_page(uow, shipment_id, user.principal)
    return page(request, "parcel.html", user, **found, may_retry=may_do(user.principal, "retry-handoff"))


@router.get("/shipments/{shipment_id}/label")
def label(shipment_id: str, user: User, uow: Uow) -> Response:
    """The label PDF as kept, to print at the packing station (409 until it is bought)."""
    check_page(user.principal, "shipments")
    pdf = service.label(uow, shipment_id, user.principal)
    headers = {"Content-Disposition": f'inline; filename="{shipment_id}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post("/shipments/{shipment_id}/retry", dependencies=[Csrf])
def retry(shipment_id: str, request: Request, user: User, uow: Uow) -> Response:
    """Send the parcel's handoff again now."""
    row = service.get_shipment(uow, shipment_id, user.principal)
    check_action(user.principal, "retry-handoff", row.site)
    try:
        message = service.retry(uow, shipment_id, user.principal)
        uow.commit()
    except Conflict as refused:
        flash(request, f"Parcel {shipment_id} not retried: {refused.message}", "error")
    else:
        flash(request, f"Parcel {shipment_id}: the handoff is sent again ({message.status}).")
    return RedirectResponse(f"/shipments/{shipment_id}", status_code=303)


@router.post("/shipments/pack/{order_id}", dependencies=[Csrf])
def pack(
    order_id: str,
    request: Request,
    user: User,
    uow: Uow,
    site: str = Form("", max_length=80),
) -> Response:
    """Pack the order's made lines at one site into a parcel; its label is then bought in the background."""
    check_action(user.principal, "pack", site or None)
    lines = next(
        (
            r["line_ids"]
            for r in queries.ready_to_pack(uow, user.principal)
            if r["order_id"] == order_id and r["site"] == site
        ),
        None,
    )
    try:
        done = packing.pack(uow, order_id, line_ids=lines, actor=user.username, who=user.principal)
        uow.commit()
    except (Conflict, Invalid) as refused:
        flash(request, f"Order {order_id} not packed: {refused.message}", "error")
        return RedirectResponse("/shipments#ready", status_code=303)
    made = ", ".join(row.id for row in done.shipments)
    flash(request, f"Order {order_id} packed at {site}: parcel {made}.")
    return RedirectResponse("/shipments", status_code=303)
