"""Sites, loads, assignments and routing explanations as JSON-ready dicts, shared by API and CLI."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from microfactory.db.tables.network import AssignmentRow, StockRow
from microfactory.db.tables.orders import OrderLineRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound
from microfactory.network.model import WEEKDAYS, Connector, Site
from microfactory.network.service import RoutingOutcome
from microfactory.network.stored_state import ACTIVE, Current, active_assignments


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def site_view(ctx: Current, site: Site, uow: UnitOfWork | None = None) -> dict[str, Any]:
    """A site as configured and as it stands: machines up or down, stock, load; with its open work."""
    state = ctx.router.states[site.id]
    partner = ctx.network.partner_of(site)
    view: dict[str, Any] = {
        "id": site.id,
        "name": site.name,
        "kind": site.kind,
        "location": {"lat": site.location.lat, "lon": site.location.lon, "country": site.location.country},
        "timezone": site.timezone,
        "open": state.open,
        "closed_dates": sorted(d.isoformat() for d in state.closed_dates),
        "fulfilment_partner": {"id": partner.id, "kind": partner.kind, "mode": partner.mode},
        "accept_within_minutes": site.accept_within_minutes,
    }
    if site.is_central:
        view |= {
            "lead_time_days": site.lead_time_days,
            "unit_overhead": str(site.unit_overhead),
            "capabilities": sorted(site.capabilities),
        }
        return view
    calendar = site.calendar
    view |= {
        "calendar": {
            "days": [WEEKDAYS[d] for d in sorted(calendar.days)],
            "hours": [calendar.open.strftime("%H:%M"), calendar.close.strftime("%H:%M")],
        },
        "labour_rate_per_hour": str(site.labour_rate_per_hour),
        "material_change_minutes": site.material_change_minutes,
        "machines": [
            {
                "id": m.id,
                "capability": m.capability,
                "materials": list(m.materials),
                "up": m.id not in state.down,
                "held": m.id in state.held,  # on hold for new jobs (quality SPC)
                "connector": _connector_view(m.connector),
            }
            for m in site.machines
        ],
        "stock": {
            part: {
                "on_hand": _number(site_stock),
                "available": _number(state.available.get(part, Decimal(0))),
            }
            for part, site_stock in _on_hand(ctx, site, uow).items()
        },
        "load": load_view(ctx, site),
    }
    return view


def _connector_view(connector: Connector | None) -> dict[str, str | None] | None:
    """How the site's edge agent reaches the machine: its kind, URL and the *name* of its key variable."""
    if connector is None:
        return None
    return {"kind": connector.kind, "url": connector.url, "api_key_env": connector.api_key_env}


def _on_hand(ctx: Current, site: Site, uow: UnitOfWork | None) -> dict[str, Decimal]:
    if uow is None:
        return dict(site.stock)
    rows = uow.session.scalars(
        select(StockRow).where(StockRow.network_id == ctx.row.id, StockRow.site == site.id)
    )
    return {row.part: row.on_hand for row in rows}


def load_view(ctx: Current, site: Site) -> dict[str, Any]:
    """Queued minutes per capability, against the machines that are up and a week of opening hours."""
    state = ctx.router.states[site.id]
    per_week = site.calendar.minutes_per_week
    machines: dict[str, int] = {}
    for machine in site.machines:
        if machine.id not in state.down and machine.id not in state.held:
            machines[machine.capability] = machines.get(machine.capability, 0) + 1
    capabilities = sorted({m.capability for m in site.machines})
    by_capability = {}
    for capability in capabilities:
        queued = state.queued.get(capability, 0.0)
        up = machines.get(capability, 0)
        by_capability[capability] = {
            "queued_minutes": round(queued, 1),
            "machines_up": up,
            "weeks_of_work": round(queued / (up * per_week), 3) if up and per_week else None,
        }
    weeks = [v["weeks_of_work"] for v in by_capability.values() if v["weeks_of_work"] is not None]
    return {"by_capability": by_capability, "bottleneck_weeks": max(weeks, default=0.0)}


def assignment_view(row: AssignmentRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "work_order_id": row.work_order_id,
        "order_id": row.order_id,
        "site": row.site or None,
        "central": row.central,
        "status": row.status,
        "deadline": row.deadline.isoformat() if row.deadline else None,
        "promised_ship_date": row.promised_ship_date,
        "promised_delivery_date": row.promised_delivery_date,
        "promised_ship_at": _iso(row.promised_ship_at),
        "promised_delivery_at": _iso(row.promised_delivery_at),
        "first_promised_delivery_date": (
            row.first_promised_delivery_at.date().isoformat() if row.first_promised_delivery_at else None
        ),
        "slipped": row.slipped,
        "distance_km": None if row.distance_km is None else round(row.distance_km, 1),
        "deciding_factor": row.explanation.get("deciding_factor"),
        "summary": row.explanation.get("summary"),
        "reason": row.reason,
        "decided_by": row.decided_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }


def site_assignments(uow: UnitOfWork, ctx: Current, site: str) -> list[dict[str, Any]]:
    return [assignment_view(row) for row in active_assignments(uow, ctx.row.name, site)]


def routing_view(uow: UnitOfWork, work_order_id: str) -> dict[str, Any]:
    """Where a work order is (to be) made, its promise, the full explanation, and every earlier offer."""
    rows = list(
        uow.session.scalars(
            select(AssignmentRow)
            .where(AssignmentRow.work_order_id == work_order_id)
            .order_by(AssignmentRow.created_at, AssignmentRow.id)
        )
    )
    if not rows:
        if uow.session.get(WorkOrderRow, work_order_id) is None:
            raise NotFound("work order", work_order_id, f"no such work order {work_order_id!r}")
        raise NotFound("routing", work_order_id, f"work order {work_order_id} has not been routed")
    latest = next((row for row in reversed(rows) if row.status in ACTIVE), rows[-1])
    return {
        "work_order_id": work_order_id,
        **assignment_view(latest),
        "assignment_id": latest.id,
        "explanation": latest.explanation,
        "history": [assignment_view(row) for row in rows],
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def line_promise(line: OrderLineRow) -> dict[str, Any]:
    """What `orders.views.line_view` shows of routing: site, promised dates and the routing summary."""
    empty: dict[str, Any] = {
        "promised_ship_date": None,
        "promised_delivery_date": None,
        "promised_ship_at": None,
        "promised_delivery_at": None,
        "routing": None,
    }
    session = object_session(line)
    work_order = line.work_order
    if session is None or work_order is None or work_order.site is None:
        return empty  # not routed: no question to ask the database
    row = session.scalar(
        select(AssignmentRow)
        .where(AssignmentRow.work_order_id == work_order.id, AssignmentRow.status.in_(ACTIVE))
        .order_by(AssignmentRow.created_at.desc())
    )
    if row is None:
        return empty
    return {
        "promised_ship_date": row.promised_ship_date,
        "promised_delivery_date": row.promised_delivery_date,
        "promised_ship_at": _iso(row.promised_ship_at),
        "promised_delivery_at": _iso(row.promised_delivery_at),
        "routing": {
            "assignment_id": row.id,
            "site": row.site,
            "status": row.status,
            "deciding_factor": row.explanation.get("deciding_factor"),
            "summary": row.explanation.get("summary"),
            "slipped": row.slipped,
        },
    }


def outcome_view(outcome: RoutingOutcome) -> dict[str, Any]:
    return {
        "work_order_ids": outcome.work_order_ids,
        "site": outcome.site,
        "central": outcome.central,
        "deciding_factor": outcome.explanation.get("deciding_factor"),
        "summary": outcome.explanation.get("summary"),
        "assignments": [assignment_view(row) for row in outcome.assignments],
    }
