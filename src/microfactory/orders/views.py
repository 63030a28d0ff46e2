"""Orders and work orders as JSON-ready dicts: the shape of spec/interfaces.md, shared by API and CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from microfactory.db.tables.orders import AuditEventRow, OrderLineRow, OrderRow, WorkOrderRow
from microfactory.orders.ship_to_notes import NOTES_KEY

if TYPE_CHECKING:
    from microfactory.orders.service import RetryOutcome


def order_view(order: OrderRow) -> dict[str, Any]:
    from microfactory.logistics.views import order_shipments  # logistics builds on orders: import late

    return {
        "id": order.id,
        "channel": order.channel,
        "external_id": order.external_id,
        "status": order.status,
        "name": order.name,
        "email": order.email,
        "currency": order.currency,
        "total_price": None if order.total_price is None else str(order.total_price),
        "ship_to": order.ship_to,
        "notes": order_notes(order),
        "allow_split": order.allow_split,
        "created_at": order.created_at.isoformat() if order.created_at else None,
        "lines": [line_view(line) for line in order.lines],
        "shipments": order_shipments(order),
    }


def line_view(line: OrderLineRow) -> dict[str, Any]:
    from microfactory.network.views import line_promise  # network builds on orders: import late

    work_order = line.work_order
    return {
        "id": line.id,
        "position": line.position,
        "external_id": line.external_id,
        "kind": line.kind,
        "sku": line.sku,
        "product": line.product,
        "title": line.title,
        "qty": line.qty,
        "options": line.options,
        "properties": line.properties,
        "status": line.status,
        "problems": line.problems,
        "configuration_key": line.configuration_key,
        "work_order_id": work_order.id if work_order is not None else None,
        "site": line.site,
        **line_promise(line),
    }


def order_notes(order: OrderRow) -> list[dict[str, Any]]:
    """Warnings kept on the order at intake (an approximate destination): they never block it."""
    return list((order.attributes or {}).get(NOTES_KEY) or [])


def attention_view(line: OrderLineRow) -> dict[str, Any]:
    """A line in needs attention, with the order it belongs to (its id alone would not find it)."""
    return {"order_id": line.order_id, **line_view(line), "warnings": order_notes(line.order)}


def warning_view(order: OrderRow) -> dict[str, Any]:
    """An order that routes but carries warnings: what needs attention shows beside waiting lines."""
    return {
        "order_id": order.id,
        "channel": order.channel,
        "external_id": order.external_id,
        "name": order.name,
        "status": order.status,
        "ship_to": order.ship_to,
        "warnings": order_notes(order),
    }


def work_order_view(work_order: WorkOrderRow) -> dict[str, Any]:
    return {
        "id": work_order.id,
        "order_line_id": work_order.order_line_id,
        "status": work_order.status,
        "catalog": work_order.catalog,
        "catalog_version": work_order.catalog_version,
        "product": work_order.product,
        "configuration_key": work_order.configuration_key,
        "qty": work_order.qty,
        "site": work_order.site,
        "total_minutes": work_order.total_minutes,
        "bom": work_order.translation["bom"],
        "operations": work_order.translation["operations"],
    }


def history_view(event: AuditEventRow) -> dict[str, Any]:
    """One audit event as the API and `orders history --json` show it."""
    return {
        "entity": event.entity,
        "entity_id": event.entity_id,
        "from": event.from_status,
        "to": event.to_status,
        "reason": event.reason,
        "actor": event.actor,
        "at": event.at.isoformat(),
    }


def retry_view(outcome: RetryOutcome) -> dict[str, Any]:
    """What `retry_needs_attention` did: counts, the lines released, and why the others still wait."""
    return {
        "released": len(outcome.released),
        "waiting": len(outcome.waiting),
        "released_lines": [
            {"order_id": line.order_id, "line_id": line.id, "work_order_id": line.work_order.id}
            for line in outcome.released
            if line.work_order is not None
        ],
        "waiting_lines": [
            {
                "order_id": line.order_id,
                "line_id": line.id,
                "product": line.product,
                "sku": line.sku,
                "problems": line.problems,
            }
            for line in outcome.waiting
        ],
    }
