"""Loading a network into storage, and the operator's routing weights.

The document is kept whole, like a catalog version; rows beside it carry what changes (machines
up or down, sites closed, stock counts), and survive a reload of the same network where they can.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from microfactory.db.base import utcnow
from microfactory.db.tables.network import MachineRow, NetworkRow, SiteRow, StockRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network.demand import RoutingWeights
from microfactory.network.document import build_network
from microfactory.network.model import Network
from microfactory.network.stored_state import current


@dataclass(frozen=True)
class LoadResult:
    network: Network
    created: bool  # False when the same document was already loaded


def load_network(uow: UnitOfWork, document: Mapping[str, Any]) -> LoadResult:
    """Validate and store a network, making it the active one; reloading replaces stock counts.

    Machines keep their up/down state across a reload; machines and sites no longer in the
    document are dropped.
    """
    network = build_network(document)
    session = uow.session
    row = session.scalar(select(NetworkRow).where(NetworkRow.name == network.name))
    if row is not None and row.document == dict(document):
        if row.loaded_at != _newest_load(uow):
            row.loaded_at = utcnow()  # loading it again makes it the active network
        return LoadResult(network, created=False)
    if row is None:
        row = NetworkRow(name=network.name, document=dict(document), weights={})
        session.add(row)
    else:
        row.document = dict(document)
    row.loaded_at = utcnow()
    session.flush()
    _sync_rows(uow, row.id, network)
    return LoadResult(network, created=True)


def _newest_load(uow: UnitOfWork) -> datetime | None:
    newest = uow.session.scalar(select(NetworkRow).order_by(NetworkRow.loaded_at.desc()))
    return newest.loaded_at if newest is not None else None


def _sync_rows(uow: UnitOfWork, network_id: int, network: Network) -> None:
    session = uow.session
    sites = {r.site: r for r in session.scalars(select(SiteRow).where(SiteRow.network_id == network_id))}
    machines = {
        r.machine: r for r in session.scalars(select(MachineRow).where(MachineRow.network_id == network_id))
    }
    for stock in session.scalars(select(StockRow).where(StockRow.network_id == network_id)):
        session.delete(stock)
    wanted_machines = set()
    for sid, site in network.sites.items():
        if sid not in sites:
            session.add(SiteRow(network_id=network_id, site=sid, kind=site.kind, open=True, closed_dates=[]))
        for machine in site.machines:
            wanted_machines.add(machine.id)
            if machine.id not in machines:
                session.add(
                    MachineRow(
                        network_id=network_id, site=sid, machine=machine.id, capability=machine.capability
                    )
                )
        for part, qty in site.stock.items():
            session.add(StockRow(network_id=network_id, site=sid, part=part, on_hand=qty))
    for sid, site_row in sites.items():
        if sid not in network.sites:
            session.delete(site_row)
    for mid, machine_row in machines.items():
        if mid not in wanted_machines:
            session.delete(machine_row)
    session.flush()


def set_weights(uow: UnitOfWork, weights: RoutingWeights) -> RoutingWeights:
    """Store the operator's weights on the active network: later routing uses them."""
    ctx = current(uow)
    ctx.row.weights = weights.as_dict()
    return weights
