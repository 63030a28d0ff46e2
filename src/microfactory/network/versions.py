"""Loading a network into storage, and the operator's routing weights.

The document is kept whole, like a catalog version; rows beside it carry what changes (machines
up or down, sites closed, stock counts), and survive a reload of the same network where they can.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from microfactory.db.base import utcnow
from microfactory.db.tables.network import AssignmentRow, MachineRow, NetworkRow, SiteRow, StockRow
from microfactory.db.tables.orders import AuditEventRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from microfactory.network.demand import RoutingWeights
from microfactory.network.document import build_network
from microfactory.network.model import Network
from microfactory.network.stored_state import ACTIVE, current
from microfactory.orders import audit

STARTED = ("scheduled", "in_progress")


@dataclass(frozen=True)
class LoadResult:
    """A network as loaded: which version of its name it is, and what changed from the one before.

    `rerouted` holds the routing outcomes of work moved off sites the new version no longer has
    (filled in by `reload.load_network`, which moves it).
    """

    network: Network
    created: bool  # False when the same document was already loaded
    version: int = 1
    added_sites: list[str] = field(default_factory=list)
    removed_sites: list[str] = field(default_factory=list)
    rerouted: list[Any] = field(default_factory=list)


def load_network(
    uow: UnitOfWork, document: Mapping[str, Any], now: datetime | None = None, actor: str = "system"
) -> LoadResult:
    """Validate and store a network, making it the active one; a changed document is a new version.

    Machines keep their up/down state and sites their closures across a reload; stock counts are
    replaced by the document's; machines and sites no longer in it are dropped. A site with started
    work (scheduled or in production) cannot be removed: the load is refused whole, naming the work.
    """
    network = build_network(document)
    session = uow.session
    row = session.scalar(select(NetworkRow).where(NetworkRow.name == network.name))
    if row is not None and row.document == dict(document):
        if row.loaded_at != _newest_load(uow):
            row.loaded_at = now or utcnow()  # loading it again makes it the active network
        return LoadResult(network, created=False, version=_loads(uow, network.name))
    before = set(build_network(row.document).sites) if row is not None else set(network.sites)
    removed = sorted(before - set(network.sites))
    added = sorted(set(network.sites) - before)
    _refuse_started_work(uow, network.name, removed)
    if row is None:
        row = NetworkRow(name=network.name, document=dict(document), weights={})
        session.add(row)
    else:
        row.document = dict(document)
    row.loaded_at = now or utcnow()
    session.flush()
    _sync_rows(uow, row.id, network)
    version = _loads(uow, network.name) + 1
    audit.record(uow, "network", network.name, "loaded", None, _describe(version, added, removed), actor)
    return LoadResult(network, True, version, added, removed)


def _loads(uow: UnitOfWork, name: str) -> int:
    """How many versions of the network were loaded: its `loaded` audit events."""
    count = uow.session.scalar(
        select(func.count())
        .select_from(AuditEventRow)
        .where(
            AuditEventRow.entity == "network",
            AuditEventRow.entity_id == name,
            AuditEventRow.to_status == "loaded",
        )
    )
    return int(count or 0)


def _describe(version: int, added: list[str], removed: list[str]) -> str:
    changes = [f"version {version}"]
    if added:
        changes.append(f"added {', '.join(added)}")
    if removed:
        changes.append(f"removed {', '.join(removed)}")
    return "; ".join(changes)


def _refuse_started_work(uow: UnitOfWork, network: str, removed: list[str]) -> None:
    """Started work cannot move: a site that still has some cannot leave the network."""
    if not removed:
        return
    started = uow.session.execute(
        select(AssignmentRow.site, AssignmentRow.work_order_id)
        .join(WorkOrderRow, WorkOrderRow.id == AssignmentRow.work_order_id)
        .where(
            AssignmentRow.network == network,
            AssignmentRow.site.in_(removed),
            AssignmentRow.status.in_(ACTIVE),
            WorkOrderRow.status.in_(STARTED),
        )
        .order_by(AssignmentRow.site, AssignmentRow.work_order_id)
    ).all()
    if started:
        named = ", ".join(f"{site} has {work_order}" for site, work_order in started)
        raise Conflict(
            f"cannot remove a site with started work from network {network} ({named}): "
            "finish or cancel that work first, or keep the site"
        )


def _newest_load(uow: UnitOfWork) -> datetime | None:
    newest = uow.session.scalar(select(NetworkRow).order_by(NetworkRow.loaded_at.desc()))
    return newest.loaded_at if newest is not None else None


def _sync_rows(uow: UnitOfWork, network_id: int, network: Network) -> None:
    """Bring the state rows in line with the document, updating rows in place (their keys are unique)."""
    session = uow.session
    sites = {r.site: r for r in session.scalars(select(SiteRow).where(SiteRow.network_id == network_id))}
    machines = {
        r.machine: r for r in session.scalars(select(MachineRow).where(MachineRow.network_id == network_id))
    }
    stock = {
        (r.site, r.part): r
        for r in session.scalars(select(StockRow).where(StockRow.network_id == network_id))
    }
    for key in set(sites) - set(network.sites):
        session.delete(sites.pop(key))
    wanted = {m.id: (sid, m.capability) for sid, site in network.sites.items() for m in site.machines}
    for key in set(machines) - set(wanted):
        session.delete(machines.pop(key))
    counts = {(sid, part): qty for sid, site in network.sites.items() for part, qty in site.stock.items()}
    for pair in set(stock) - set(counts):
        session.delete(stock.pop(pair))
    session.flush()  # deletes first: a key may come back below
    for sid, site in network.sites.items():
        if sid in sites:
            sites[sid].kind = site.kind
        else:
            session.add(SiteRow(network_id=network_id, site=sid, kind=site.kind, open=True, closed_dates=[]))
    for mid, (sid, capability) in wanted.items():
        if mid in machines:
            machines[mid].site, machines[mid].capability = sid, capability
        else:
            session.add(MachineRow(network_id=network_id, site=sid, machine=mid, capability=capability))
    for (sid, part), qty in counts.items():
        if (sid, part) in stock:
            stock[(sid, part)].on_hand = qty
            stock[(sid, part)].counted_at = utcnow()
        else:
            session.add(StockRow(network_id=network_id, site=sid, part=part, on_hand=qty))
    session.flush()


def set_weights(uow: UnitOfWork, weights: RoutingWeights) -> RoutingWeights:
    """Store the operator's weights on the active network: later routing uses them."""
    ctx = current(uow)
    ctx.row.weights = weights.as_dict()
    return weights
