"""What each page shows, gathered from the services (orders, network, production, channels).

Read-only and free of HTTP: a page route calls one function here inside its unit of work and hands
the result to its template. Nothing here writes or reaches around a service's rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from microfactory.channels.shopify.fulfilment_sync import list_shipments, shipment_view
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound
from microfactory.logistics import service as logistics_service
from microfactory.logistics.views import shipment_view as logistics_view
from microfactory.network.model import Site
from microfactory.network.stored_state import Current, NoNetwork, active_assignments, current
from microfactory.network.views import routing_view, site_view
from microfactory.orders import listing
from microfactory.orders import service as orders_service
from microfactory.orders.views import history_view, order_view, work_order_view
from microfactory.production.telemetry.service import alert_view, latest_readings, open_alerts
from microfactory.production.trace import unit_trace
from microfactory.production.views import held_operations, site_operations, work_order_production
from microfactory.web.gantt import Bar

MANUAL_KINDS = (None, "manual")
MAX_UNITS_TRACED = 20


def network_or_none(uow: UnitOfWork) -> Current | None:
    try:
        return current(uow)
    except NoNetwork:
        return None


# --- overview -------------------------------------------------------------------------------------


def overview(uow: UnitOfWork, decisions: int = 8) -> dict[str, Any]:
    """Every site with its machines, load and promises; the latest routing decisions in words."""
    ctx = network_or_none(uow)
    if ctx is None:
        return {"network": None, "sites": [], "decisions": []}
    queue = active_assignments(uow, ctx.row.name)
    sites = [
        _site_summary(ctx, site, [row for row in queue if row.site == site.id], uow)
        for site in ctx.network.sites.values()
    ]
    latest = sorted(queue, key=lambda row: (row.created_at, row.id), reverse=True)[:decisions]
    return {
        "network": ctx.network.name,
        "sites": sites,
        "decisions": [decision(row) for row in latest],
    }


def _site_summary(ctx: Current, site: Site, queue: list[AssignmentRow], uow: UnitOfWork) -> dict[str, Any]:
    view = site_view(ctx, site, uow)
    machines = view.get("machines", [])
    ships = [row.promised_ship_at for row in queue if row.promised_ship_at is not None]
    return {
        "id": site.id,
        "name": site.name,
        "kind": site.kind,
        "open": view["open"],
        "machines_up": sum(1 for m in machines if m["up"]),
        "machines": len(machines),
        "load_weeks": (view.get("load") or {}).get("bottleneck_weeks"),
        "work_orders": len(queue),
        "offered": sum(1 for row in queue if row.status == "offered"),
        "next_ship": min(ships) if ships else None,
        "last_ship": max(ships) if ships else None,
        "slipped": sum(1 for row in queue if row.slipped),
    }


def decision(row: AssignmentRow) -> dict[str, Any]:
    """A routing decision as sentences: who won and why, and why each other site lost."""
    explanation = row.explanation or {}
    return {
        "work_order_id": row.work_order_id,
        "order_id": row.order_id,
        "site": row.site,
        "status": row.status,
        "summary": explanation.get("summary") or "",
        "deciding_factor": explanation.get("deciding_factor"),
        "approximate": explanation.get("distance_approximate", False),
        "candidates": [
            {"site": c.get("site"), "result": c.get("result"), "score": c.get("score")}
            for c in explanation.get("candidates", [])
        ],
        "promised_ship_at": row.promised_ship_at,
        "promised_delivery_date": row.promised_delivery_date,
    }


# --- orders ---------------------------------------------------------------------------------------


def order_trace(uow: UnitOfWork, order_id: str) -> dict[str, Any]:
    """An order's whole trace: each line's catalog rules, site and why, plan, machines, units, parcels."""
    order = orders_service.get_order(uow, order_id)
    lines = []
    for line in order.lines:
        work_order = line.work_order
        production = routing = None
        units: list[dict[str, Any]] = []
        if work_order is not None:
            production = work_order_production(uow, work_order_view(work_order))
            units = [unit_trace(uow, serial) for serial in production["units"][:MAX_UNITS_TRACED]]
            try:
                routing = routing_view(uow, work_order.id)
            except NotFound:
                routing = None  # not routed yet
        lines.append({"row": line, "production": production, "routing": routing, "units": units})
    return {
        "order": order_view(order),
        "sites": {line.site for line in order.lines}
        | {line.work_order.site for line in order.lines if line.work_order is not None},
        "lines": lines,
        "parcels": [shipment_view(row) for row in list_shipments(uow, order.id)],
        "shipments": [
            logistics_view(row) for row in logistics_service.list_shipments(uow, order_id=order.id).items
        ],
        "history": [history_view(event) for event in listing.order_history(uow, order.id)],
    }


# --- sites ----------------------------------------------------------------------------------------


def site_of(uow: UnitOfWork, site_id: str) -> tuple[Current, Site]:
    ctx = current(uow)
    site = ctx.network.site(site_id)
    if site is None:
        raise NotFound("site", site_id, f"no site {site_id!r} in network {ctx.network.name}")
    return ctx, site


def manual_machines(site: Site) -> set[str]:
    """Machines a person runs: no connector, or the manual one (a bench, a packing table)."""
    return {m.id for m in site.machines if (m.connector.kind if m.connector else None) in MANUAL_KINDS}


def site_board(uow: UnitOfWork, site_id: str) -> dict[str, Any]:
    """A site's page: its plan as bars, machines with state and current job, stations, holds, alerts."""
    ctx, site = site_of(uow, site_id)
    view = site_view(ctx, site, uow)
    operations = site_operations(uow, site_id)
    bars = [
        Bar(
            op["machine"],
            datetime.fromisoformat(op["start"]),
            datetime.fromisoformat(op["end"]),
            op["op"],
            op["status"],
        )
        for op in operations
    ]
    manual = manual_machines(site)
    stations = [
        op
        for op in operations
        if op["machine"] in manual
        and (op["status"] == "running" or (op["status"] == "released" and op["ready"]))
    ]
    return {
        "site": view,
        "bars": bars,
        "stations": stations[:12],
        "stations_waiting": len(stations),
        "holds": held_operations(uow, site_id),
        "live": site_live(uow, site_id, view, operations),
    }


def site_live(
    uow: UnitOfWork,
    site_id: str,
    view: dict[str, Any] | None = None,
    operations: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """What the live part of a site's page polls: machines, their current job, readings, open alerts."""
    if view is None:
        ctx, site = site_of(uow, site_id)
        view = site_view(ctx, site, uow)
    if operations is None:
        operations = site_operations(uow, site_id, ["running"])
    running = {op["machine"]: op for op in operations if op["status"] == "running"}
    machines = view.get("machines", [])
    readings = latest_readings(uow, [m["id"] for m in machines])
    return {
        "machines": [
            {**m, "job": running.get(m["id"]), "readings": readings.get(m["id"], {})} for m in machines
        ],
        "alerts": [alert_view(alert) for alert in open_alerts(uow) if alert.site == site_id],
    }
