"""Shipments as JSON for the API and the CLI, and the `shipments` of an order in the contract's shape."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from microfactory.db.tables.channels import FulfilmentSyncRow
from microfactory.db.tables.logistics import ShipmentRow, TrackingEventRow
from microfactory.db.tables.orders import OrderRow
from microfactory.db.tables.outbox import OutboxMessageRow
from microfactory.logistics.packing import HANDOFF_KIND
from microfactory.logistics.tracking import lateness_hours


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def contract_view(row: ShipmentRow) -> dict[str, Any]:
    """`{"id", "partner", "carrier", "tracking_number", "status", "lines"}` (spec/interfaces.md)."""
    return {
        "id": row.id,
        "partner": row.partner,
        "carrier": row.carrier,
        "tracking_number": row.tracking_number,
        "status": row.status,
        "lines": [{"line_id": entry["line_id"], "qty": entry["qty"]} for entry in row.lines],
    }


def shipment_view(row: ShipmentRow, handoff: OutboxMessageRow | None = None) -> dict[str, Any]:
    """Everything about a parcel: the contract's keys first, then rate, label, dates and the handoff."""
    return {
        **contract_view(row),
        "order_id": row.order_id,
        "site": row.site,
        "units": [serial for entry in row.lines for serial in entry.get("serials", [])],
        "mass_kg": str(row.mass_kg),
        "size_cm": [str(row.length_cm), str(row.width_cm), str(row.height_cm)],
        "policy": row.policy,
        "rate": row.rate,
        "label_id": row.label_id,
        "tracking_url": row.tracking_url,
        "pickup_id": row.pickup_id,
        "promised_delivery_at": _iso(row.promised_delivery_at),
        "delivered_at": _iso(row.delivered_at),
        "late_hours": lateness_hours(row),
        "tracked_at": _iso(row.tracked_at),
        "last_error": row.last_error,
        "override_reason": row.override_reason,
        "handoff": None
        if handoff is None
        else {
            "message_id": handoff.id,
            "status": handoff.status,
            "attempts": handoff.attempts,
            "due_at": _iso(handoff.due_at),
        },
        "created_at": _iso(row.created_at),
    }


def event_view(row: TrackingEventRow) -> dict[str, Any]:
    return {"state": row.state, "at": row.at.isoformat(), "message": row.message, "source": row.source}


def handoff_message(session: Any, shipment_id: str) -> OutboxMessageRow | None:
    query = select(OutboxMessageRow).where(
        OutboxMessageRow.kind == HANDOFF_KIND, OutboxMessageRow.key == shipment_id
    )
    found: OutboxMessageRow | None = session.scalar(query)
    return found


def order_shipments(order: OrderRow) -> list[dict[str, Any]]:
    """The order's parcels, oldest first: ours, then those reported by hand (`POST .../shipments`).

    A parcel reported by hand has no partner; its carrier is the company it was reported with.
    """
    session = object_session(order)
    if session is None:
        return []
    ours = list(
        session.scalars(
            select(ShipmentRow)
            .where(ShipmentRow.order_id == order.id)
            .order_by(ShipmentRow.created_at, ShipmentRow.id)
        )
    )
    keys = {row.id for row in ours}
    by_hand = session.scalars(
        select(FulfilmentSyncRow)
        .where(FulfilmentSyncRow.order_id == order.id)
        .order_by(FulfilmentSyncRow.created_at, FulfilmentSyncRow.id)
    )
    views = [contract_view(row) for row in ours]
    for parcel in by_hand:
        if parcel.idempotency_key in keys:
            continue
        views.append(
            {
                "id": parcel.id,
                "partner": None,
                "carrier": parcel.tracking_company,
                "tracking_number": parcel.tracking_number,
                "status": "shipped",
                "lines": [{"line_id": e["line_id"], "qty": e["qty"]} for e in parcel.lines]
                if parcel.lines is not None
                else [{"line_id": line.id, "qty": line.qty} for line in order.lines],
            }
        )
    return views
