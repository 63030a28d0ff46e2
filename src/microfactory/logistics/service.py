"""Shipment use cases for the API and the CLI: list, show, the label, retry a handoff.

A `site` principal sees and acts on its own site's parcels only (`access.model.check_site`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from microfactory.access.model import Principal, check_site
from microfactory.db.tables.logistics import ShipmentRow, TrackingEventRow
from microfactory.db.tables.outbox import OutboxMessageRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid, NotFound
from microfactory.logistics.model import ShipmentStatus
from microfactory.logistics.views import handoff_message
from microfactory.network.site_check import unknown_site
from microfactory.orders.paging import Page
from microfactory.outbox import store
from microfactory.outbox.model import RETRYABLE_BY_HAND
from microfactory.problems import Problem


class ShipmentNotFound(NotFound):
    def __init__(self, shipment_id: str) -> None:
        super().__init__("shipment", shipment_id)


def get_shipment(uow: UnitOfWork, shipment_id: str, who: Principal | None = None) -> ShipmentRow:
    row = uow.session.get(ShipmentRow, shipment_id)
    if row is None:
        raise ShipmentNotFound(shipment_id)
    if who is not None:
        check_site(who, row.site)
    return row


def list_shipments(
    uow: UnitOfWork,
    *,
    status: str | None = None,
    site: str | None = None,
    order_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
    who: Principal | None = None,
) -> Page[ShipmentRow]:
    """Parcels oldest first, filtered; a site principal's list is its own site's."""
    if status is not None and status not in set(ShipmentStatus):
        shown = ", ".join(ShipmentStatus)
        raise Invalid("unknown shipment status", [Problem("status", f"{status!r} is not one of {shown}")])
    if who is not None and who.role == "site":
        check_site(who, site or who.site)
        site = who.site
    misspelt = unknown_site(uow, site)  # a filter on a site nobody has would list nothing, silently
    if misspelt is not None:
        raise Invalid("unknown site", [misspelt])
    query = select(ShipmentRow)
    for column, value in (
        (ShipmentRow.status, status),
        (ShipmentRow.site, site),
        (ShipmentRow.order_id, order_id),
    ):
        if value is not None:
            query = query.where(column == value)
    total = uow.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = uow.session.scalars(
        query.order_by(ShipmentRow.created_at, ShipmentRow.id).limit(limit).offset(offset)
    )
    return Page(list(rows), total, limit, offset)


def events(uow: UnitOfWork, shipment_id: str) -> list[TrackingEventRow]:
    query = select(TrackingEventRow).where(TrackingEventRow.shipment_id == shipment_id)
    return list(uow.session.scalars(query.order_by(TrackingEventRow.at, TrackingEventRow.id)))


def label(uow: UnitOfWork, shipment_id: str, who: Principal | None = None) -> bytes:
    """The label PDF as kept; `Conflict` while the handoff has not got it yet."""
    row = get_shipment(uow, shipment_id, who)
    pdf = row.label_pdf
    if pdf is None:
        raise Conflict(f"shipment {row.id} is {row.status}: its label is not kept yet")
    return bytes(pdf)


def retry(
    uow: UnitOfWork, shipment_id: str, who: Principal | None = None, now: datetime | None = None
) -> OutboxMessageRow:
    """Send the parcel's handoff again now: a failed, dead or unknown-outcome message, or one waiting
    for its backoff (which is brought forward). Buying again is safe: the label's key is the parcel's id."""
    row = get_shipment(uow, shipment_id, who)
    message = handoff_message(uow.session, row.id)
    if message is None:
        raise Conflict(f"shipment {row.id} has no handoff message")
    if message.status in RETRYABLE_BY_HAND:
        return store.retry(uow, message.id, now)
    if message.status == "pending":
        message.due_at = now or message.due_at
        return message
    raise Conflict(f"the handoff of shipment {row.id} is {message.status}: nothing to retry")
