"""Tracking news reaches the shipment, the order and the audit trail: from webhooks and from polling.

`apply_status` is the one place a tracking update lands, whoever brought it. Each update is kept
once (`shipment_events`, unique by shipment, state and time: a carrier's repeated webhook, or a poll
that reads what the webhook already said, adds nothing) and moves the shipment when it fits
(`model.tracking_move`). Delivered moves the parcel's lines to delivered through
`orders.transitions` and records the real delivery time beside the promised one; a failure or a
return is audited on the shipment (the order's history shows it) and raises a `shipment` alert for
a person to act on.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from microfactory.db.tables.logistics import ShipmentRow, TrackingEventRow
from microfactory.db.tables.orders import OrderLineRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.logistics.carriers import TrackingState, TrackingStatus
from microfactory.logistics.health import raise_alert
from microfactory.logistics.model import ShipmentStatus, tracking_move
from microfactory.orders import audit, service, transitions
from microfactory.orders.lifecycle import LineStatus

SHIPMENT_ALERT = "shipment"


def record_event(
    uow: UnitOfWork, shipment: ShipmentRow, state: str, at: datetime, message: str, source: str
) -> bool:
    """Keep one tracking event; False when it was kept before."""
    row = TrackingEventRow(shipment_id=shipment.id, state=state, at=at, message=message[:2000], source=source)
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
            uow.session.flush()
    except IntegrityError:
        return False
    return True


def shipment_by_tracking(
    uow: UnitOfWork, tracking_number: str, partners: list[str] | None = None
) -> ShipmentRow | None:
    """The shipment of a tracking number (of one of `partners` when given), locked for the update."""
    query = select(ShipmentRow).where(ShipmentRow.tracking_number == tracking_number)
    if partners is not None:
        query = query.where(ShipmentRow.partner.in_(partners))
    return uow.session.scalar(query.order_by(ShipmentRow.created_at.desc()).with_for_update())


def apply_status(
    uow: UnitOfWork, shipment: ShipmentRow, status: TrackingStatus, source: str, now: datetime, actor: str
) -> str:
    """Apply one update: `duplicate` (seen before), `recorded` (kept, moves nothing) or `moved`."""
    at = status.at or now
    shipment.tracked_at = now
    if source == "poll" and _last_state(uow, shipment.id) == status.state.value:
        return "duplicate"  # a poll that says again what is known: no new event per round
    if not record_event(uow, shipment, status.state.value, at, status.message, source):
        return "duplicate"
    if shipment.status in (ShipmentStatus.PACKED, ShipmentStatus.LABEL_BOUGHT):
        return "recorded"  # the handoff is not done: polling reads the state again once it is
    target = tracking_move(shipment.status, status.state)
    if target is None:
        return "recorded"
    before = shipment.status
    shipment.status = target
    reason = _reason(shipment, status, at)
    audit.record(uow, "shipment", shipment.id, target, before, reason, actor)
    if target == ShipmentStatus.DELIVERED:
        shipment.delivered_at = at
        _deliver_lines(uow, shipment, reason, actor)
    elif target in (ShipmentStatus.FAILURE, ShipmentStatus.RETURNED):
        raise_alert(
            uow,
            shipment.site,
            shipment.id,
            f"parcel {shipment.id} of order {shipment.order_id}: {reason}",
            now,
            SHIPMENT_ALERT,
        )
    return "moved"


def _last_state(uow: UnitOfWork, shipment_id: str) -> str | None:
    query = select(TrackingEventRow.state).where(TrackingEventRow.shipment_id == shipment_id)
    return uow.session.scalar(query.order_by(TrackingEventRow.at.desc(), TrackingEventRow.id.desc()).limit(1))


def _reason(shipment: ShipmentRow, status: TrackingStatus, at: datetime) -> str:
    said = f" ({status.message})" if status.message else ""
    text = f"{status.state.value} by {shipment.partner}, tracking {status.tracking_number}{said}"
    if status.state == TrackingState.DELIVERED and shipment.promised_delivery_at is not None:
        late = at - shipment.promised_delivery_at
        hours = abs(late.total_seconds()) / 3600
        text += f"; promised by {shipment.promised_delivery_at.isoformat()}: {hours:.1f} h {'late' if late.total_seconds() > 0 else 'early'}"
    return text


def _deliver_lines(uow: UnitOfWork, shipment: ShipmentRow, reason: str, actor: str) -> None:
    """The parcel's shipped lines are delivered; the order's status follows (fulfilled stays fulfilled)."""
    order = service.get_order(uow, shipment.order_id, lock=True)
    wanted = {entry["line_id"] for entry in shipment.lines}
    lines: list[OrderLineRow] = [line for line in order.lines if line.id in wanted]
    for line in lines:
        if line.status == LineStatus.SHIPPED:
            transitions.move_line(
                uow, line, LineStatus.DELIVERED, reason=reason, actor=actor, refresh_order=False
            )
    service.refresh_status(uow, order, reason=reason, actor=actor)


def lateness_hours(shipment: ShipmentRow) -> float | None:
    """Hours the parcel arrived after its promise (negative: early); None until both are known."""
    if shipment.delivered_at is None or shipment.promised_delivery_at is None:
        return None
    return round((shipment.delivered_at - shipment.promised_delivery_at).total_seconds() / 3600, 1)
