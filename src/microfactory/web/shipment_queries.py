"""What the shipments pages show, read through logistics' services: parcels, packing, partners.

Read-only and free of HTTP. Parcels are listed by `logistics.service.list_shipments` with the
person's principal, so a site operator's list is their own site's (the service's rule, not ours).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from microfactory.access.model import Principal
from microfactory.db.tables.logistics import PartnerHealthRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics import packing, service
from microfactory.logistics.health import ALERT_KIND, health_view
from microfactory.logistics.tracking import SHIPMENT_ALERT
from microfactory.logistics.views import event_view, handoff_message, shipment_view
from microfactory.outbox.model import RETRYABLE_BY_HAND
from microfactory.production.telemetry.service import alert_view, open_alerts

NEWEST = 100


def _parcel(uow: UnitOfWork, row: Any) -> dict[str, Any]:
    view = shipment_view(row, handoff_message(uow.session, row.id))
    handoff = view["handoff"] or {}
    view["retryable"] = handoff.get("status") in RETRYABLE_BY_HAND or (
        handoff.get("status") == "pending" and bool(row.last_error)
    )
    view["has_label"] = row.label_pdf is not None
    return view


def parcels(uow: UnitOfWork, who: Principal, limit: int = NEWEST) -> dict[str, Any]:
    """The newest parcels first (a site operator's own site's), each with its handoff and label."""
    total = service.list_shipments(uow, limit=1, who=who).total
    page = service.list_shipments(uow, limit=limit, offset=max(0, total - limit), who=who)
    return {"parcels": [_parcel(uow, row) for row in reversed(page.items)], "total": total}


def parcel_page(uow: UnitOfWork, shipment_id: str, who: Principal) -> dict[str, Any]:
    """One parcel with its tracking events; 403 for another site's operator, 404 when unknown."""
    row = service.get_shipment(uow, shipment_id, who)
    return {
        "parcel": _parcel(uow, row),
        "events": [event_view(event) for event in service.events(uow, row.id)],
    }


def ready_to_pack(uow: UnitOfWork, who: Principal) -> list[dict[str, Any]]:
    """Orders whose lines at a site can be packed now (a site operator's own site's)."""
    site = who.site if who.role == "site" else None
    return [
        {"order_id": ready.order_id, "site": ready.site, "line_ids": ready.line_ids}
        for ready in packing.packable(uow, site)
    ]


def partners(uow: UnitOfWork) -> list[dict[str, object]]:
    """Each fulfilment partner's health: closed, open (paused) or half-open, with its last error."""
    rows = uow.session.scalars(select(PartnerHealthRow).order_by(PartnerHealthRow.partner))
    return [health_view(row) for row in rows]


def alerts(uow: UnitOfWork, who: Principal) -> list[dict[str, Any]]:
    """Open alerts of logistics: a partner paused, a parcel failed or returned (a site's own only)."""
    return [
        alert_view(row)
        for row in open_alerts(uow)
        if row.kind in (ALERT_KIND, SHIPMENT_ALERT) and (who.role != "site" or row.site == who.site)
    ]
