"""A partner booked by hand: a person types in the tracking number the courier gave, and the flow goes on.

A `manual` partner's label has no tracking number, so its parcel stops at `label_bought`. Entering the
number (`shipments record-tracking`, `POST /api/v1/shipments/{id}/tracking`) records it, audited, and
finishes the handoff in the same transaction as an automatic one does (`handoff.finish`): lines shipped
and the store told with the number. Entering the same number again changes nothing; another number
once one is known is a `Conflict` (a wrong entry is the carrier's to correct, not ours to overwrite).
"""

from __future__ import annotations

from datetime import UTC, datetime

from microfactory.access.model import Principal
from microfactory.db.tables.logistics import ShipmentRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid
from microfactory.logistics.handoff import finish
from microfactory.logistics.model import ShipmentStatus
from microfactory.logistics.service import get_shipment
from microfactory.orders import audit
from microfactory.problems import Problem


def record_tracking(
    uow: UnitOfWork,
    shipment_id: str,
    tracking_number: str,
    *,
    carrier: str | None = None,
    url: str | None = None,
    actor: str = "operator",
    who: Principal | None = None,
    now: datetime | None = None,
) -> ShipmentRow:
    """Record what the courier gave a person, then ship the parcel's lines and tell the store."""
    number = tracking_number.strip()
    problems = _problems(number, carrier, url)
    if problems:
        raise Invalid("the tracking entry is not usable", problems)
    row = get_shipment(uow, shipment_id, who)
    uow.session.get(OrderRow, row.order_id, with_for_update=True)
    row = uow.session.get(ShipmentRow, shipment_id, with_for_update=True, populate_existing=True) or row
    if row.tracking_number is not None:
        if row.tracking_number != number:
            raise Conflict(f"shipment {row.id} already has tracking number {row.tracking_number}")
        return row
    if row.status != ShipmentStatus.LABEL_BOUGHT:
        raise Conflict(
            f"shipment {row.id} is {row.status}: a tracking number is entered once its booking is made"
        )
    row.tracking_number = number
    row.tracking_url = url or row.tracking_url
    if carrier:
        row.rate = {**(row.rate or {}), "carrier": carrier}
    reason = f"tracking {number} entered by hand" + (f" ({carrier})" if carrier else "")
    audit.record(uow, "shipment", row.id, row.status, row.status, reason, actor)
    finish(uow, row, now or datetime.now(UTC), actor)
    return row


def _problems(number: str, carrier: str | None, url: str | None) -> list[Problem]:
    problems = []
    if not number or len(number) > 120:
        problems.append(
            Problem("tracking_number", "give the courier's tracking number (1 to 120 characters)")
        )
    if carrier is not None and not 0 < len(carrier.strip()) <= 80:
        problems.append(Problem("carrier", "a carrier name of 1 to 80 characters"))
    if url is not None and (not url.startswith(("https://", "http://")) or len(url) > 500):
        problems.append(Problem("url", "an http(s) tracking page of at most 500 characters"))
    return problems
