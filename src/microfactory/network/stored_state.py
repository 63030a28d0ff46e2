"""The network as stored and as it stands now, read into the pure router.

One query per table: machines down, sites closed, stock counted, parts reserved, and the open work
queued at each site by the active assignments: minutes by capability as stored with them, and each
work order's operations, in the order the promises were made, which routing lays on the site's
machines (`site_queue.py`). Routing then runs in memory and the service writes back what it chose.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select

from microfactory.catalog.work_order import translation_from_dict
from microfactory.db.tables.network import (
    AssignmentRow,
    MachineRow,
    NetworkRow,
    ReservationRow,
    SiteRow,
    StockRow,
)
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound
from microfactory.network.demand import Demand, RoutingWeights, steps_from_stored
from microfactory.network.document import build_network
from microfactory.network.geo import GeoPoint, locate
from microfactory.network.model import Calendar, Network
from microfactory.network.routing import Router, SiteState
from microfactory.network.site_queue import Queued
from microfactory.orders import lifecycle
from microfactory.orders.lifecycle import ACTIVE_ASSIGNMENT
from microfactory.orders.model import Address
from microfactory.quality.spc_service import held_machines

ACTIVE = tuple(sorted(status.value for status in ACTIVE_ASSIGNMENT))  # offered, accepted
OPEN_WORK = tuple(sorted(status.value for status in lifecycle.OPEN_WORK))  # in a site's queue
_BUILT: dict[tuple[int, str], Network] = {}


class NoNetwork(NotFound):
    def __init__(self) -> None:
        super().__init__("network", "", "no network is loaded: run `microfactory network load FILE` first")


@dataclass
class Current:
    """The active network, its row (weights, id) and a router over its present state."""

    row: NetworkRow
    network: Network
    router: Router


def active_network_row(uow: UnitOfWork) -> NetworkRow | None:
    """The most recently loaded network: the one work is routed over."""
    return uow.session.scalar(select(NetworkRow).order_by(NetworkRow.loaded_at.desc(), NetworkRow.id.desc()))


def network_of(row: NetworkRow) -> Network:
    """The model of a stored network, built once per version of its document."""
    key = (row.id, row.loaded_at.isoformat())
    if key not in _BUILT:
        _BUILT[key] = build_network(row.document)
    return _BUILT[key]


def stored_weights(row: NetworkRow) -> RoutingWeights:
    return RoutingWeights(**{k: float(v) for k, v in (row.weights or {}).items()})


def current(uow: UnitOfWork, weights: RoutingWeights | None = None) -> Current:
    """The active network with every site's state read from storage."""
    row = active_network_row(uow)
    if row is None:
        raise NoNetwork
    network = network_of(row)
    states = {sid: SiteState() for sid in network.sites}
    for sid, site in network.sites.items():
        states[sid].closed_dates = set(site.calendar.closed_dates)
    session = uow.session
    for site_row in session.scalars(select(SiteRow).where(SiteRow.network_id == row.id)):
        state = states.get(site_row.site)
        if state is not None:
            state.open = site_row.open
            state.closed_dates |= {date.fromisoformat(d) for d in site_row.closed_dates}
    for machine in session.scalars(
        select(MachineRow).where(MachineRow.network_id == row.id, MachineRow.up.is_(False))
    ):
        if machine.site in states:
            states[machine.site].down.add(machine.machine)
    for site_id, machines in held_machines(uow).items():
        if site_id in states:
            states[site_id].held.update(machines)
    for stock in session.scalars(select(StockRow).where(StockRow.network_id == row.id)):
        if stock.site in states:
            states[stock.site].available[stock.part] = stock.on_hand
    reserved = session.execute(
        select(ReservationRow.site, ReservationRow.part, func.sum(ReservationRow.qty))
        .where(ReservationRow.released_at.is_(None))
        .group_by(ReservationRow.site, ReservationRow.part)
    )
    for site_id, part, qty in reserved:
        if site_id in states:
            available = states[site_id].available
            available[part] = available.get(part, Decimal(0)) - Decimal(qty)
    for site_id, (minutes, queue) in queued_work(uow, row.name).items():
        if site_id in states:
            states[site_id].queued = minutes
            states[site_id].queue = queue
    router = Router(network, states, weights or stored_weights(row))
    return Current(row, network, router)


def active_assignments(uow: UnitOfWork, network: str, site: str | None = None) -> list[AssignmentRow]:
    """Offered or accepted assignments whose work is not done, oldest order first: a site's queue.

    Ordered as routing takes work (by order, then line), so that re-promising walks the queue in
    the order the promises were first made.
    """
    query = _in_queue_order(select(AssignmentRow), network)
    if site is not None:
        query = query.where(AssignmentRow.site == site)
    return list(uow.session.scalars(query))


def _in_queue_order(query: Select[Any], network: str) -> Select[Any]:
    """Active assignments of open work, ordered as routing took the work (order, then line)."""
    return (
        query.join(WorkOrderRow, WorkOrderRow.id == AssignmentRow.work_order_id)
        .join(OrderLineRow, OrderLineRow.id == WorkOrderRow.order_line_id)
        .join(OrderRow, OrderRow.id == OrderLineRow.order_id)
        .where(
            AssignmentRow.network == network,
            AssignmentRow.status.in_(ACTIVE),
            WorkOrderRow.status.in_(OPEN_WORK),
        )
        .order_by(OrderRow.created_at, OrderRow.id, OrderLineRow.position)
    )


Queue = tuple[dict[str, float], list[Queued]]


def queued_work(uow: UnitOfWork, network: str) -> dict[str, Queue]:
    """Open work by site: minutes by capability, and the work itself in queue order.

    By capability as stored with each assignment; the steps straight from its work order's stored
    translation (without rebuilding it), in the same query, ordered as `active_assignments`.
    """
    columns = select(AssignmentRow.site, AssignmentRow.minutes, WorkOrderRow.id, WorkOrderRow.translation)
    rows = uow.session.execute(_in_queue_order(columns, network).where(AssignmentRow.central.is_(False)))
    queued: dict[str, Queue] = defaultdict(lambda: ({}, []))
    for site_id, stored, work_order_id, translation in rows:
        by_capability, queue = queued[site_id]
        for capability, minutes in stored.items():
            by_capability[capability] = by_capability.get(capability, 0.0) + float(minutes)
        queue.append(Queued((work_order_id,), steps_from_stored(translation or {})))
    return queued


def destination(ship_to: dict[str, Any]) -> GeoPoint | None:
    """Where an order goes, located offline when the store sent no coordinates."""
    address = Address.from_dict(ship_to or {})
    return locate(address.latitude, address.longitude, address.city, address.country, address.postcode)


def demand_of(work_order: WorkOrderRow, point: GeoPoint | None) -> Demand:
    return Demand.from_translation(translation_from_dict(work_order.translation), work_order.id, point)


def site_calendar(network: Network, state: SiteState, site_id: str) -> Calendar:
    """The site's calendar with the days it closed for since the network was loaded."""
    return state.calendar(network.sites[site_id])
