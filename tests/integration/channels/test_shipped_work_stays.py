"""Issue 10 item 5: shipped work is never routed again, planned, or promised.

A parcel that leaves by override (before its work was made) ends the work nobody started: its work
order is cancelled with the override in its audit, its assignment ends and its parts go back. A
site event afterwards re-routes the site's other work, never the shipped work, which keeps its site.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from microfactory.channels.shopify import fulfilment_sync
from microfactory.channels.shopify.order_sync import sync_order
from microfactory.db.tables.network import AssignmentRow, ReservationRow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.network import service as network_service
from microfactory.network.document import read_network_file
from microfactory.network.site_events import SiteEvent, apply_event
from microfactory.orders import audit, service
from microfactory.scheduling.service import local_site, site_work_orders

NOW = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # Monday, 08:00 in Berlin


def _routed(factory: Any, examples: Path, order_create: dict[str, Any]) -> tuple[str, str]:
    """Two Shopify orders, routed; their ids (the first will ship by override)."""
    other = copy.deepcopy(order_create)
    other.update(id=int(order_create["id"]) + 1, name="#1043")
    with UnitOfWork(factory) as uow:
        network_service.load_network(uow, read_network_file(examples / "network.yaml"))
        ids = tuple(sync_order(uow, payload).order_id for payload in (order_create, other))
        uow.commit()
    with UnitOfWork(factory) as uow:
        network_service.route_work_orders(uow, now=NOW)
        uow.commit()
    return ids[0], ids[1]


def _work(uow: UnitOfWork, order_id: str) -> list[WorkOrderRow]:
    order = service.get_order(uow, order_id)
    return [line.work_order for line in order.lines if line.work_order is not None]


def test_work_shipped_by_override_is_neither_rerouted_nor_planned(
    factory: Any, examples: Path, order_create: dict[str, Any]
) -> None:
    shipped_id, waiting_id = _routed(factory, examples, order_create)
    with UnitOfWork(factory) as uow:
        sites = {wo.id: wo.site for wo in _work(uow, shipped_id)}
        assert sites and all(sites.values())
        (site,) = set(sites.values())
        assert {wo.site for wo in _work(uow, waiting_id)} == {site}  # both at one site
        fulfilment_sync.queue_shipment(
            uow, shipped_id, "T-1", "DHL", override_reason="made by hand in the shop"
        )
        uow.commit()

    with UnitOfWork(factory) as uow:
        for work_order in _work(uow, shipped_id):
            assert work_order.line.status == "shipped"
            assert work_order.status == "cancelled" and work_order.site == site
            trail = audit.history(uow, [work_order.id])
            assert "override: made by hand in the shop" in trail[-1].reason
        assignments = uow.session.scalars(select(AssignmentRow).where(AssignmentRow.work_order_id.in_(sites)))
        assert {row.status for row in assignments} == {"released"}
        held = uow.session.scalars(
            select(ReservationRow)
            .join(AssignmentRow, AssignmentRow.id == ReservationRow.assignment_id)
            .where(AssignmentRow.work_order_id.in_(sites), ReservationRow.released_at.is_(None))
        )
        assert list(held) == []  # its parts went back
        planned = {w.id for w in site_work_orders(uow, local_site(uow, site), NOW)}
        assert planned and not planned & set(sites)  # scheduling never plans it

    with UnitOfWork(factory) as uow:
        outcome = apply_event(uow, SiteEvent("site_closed", site, reason="flooded"), now=NOW)
        uow.commit()
    moved = {work_order_id for routed in outcome.rerouted for work_order_id in routed.work_order_ids}
    with UnitOfWork(factory) as uow:
        assert moved == {wo.id for wo in _work(uow, waiting_id)}  # the others move on
        for work_order in _work(uow, shipped_id):
            assert work_order.site == site and work_order.status == "cancelled"
            rows = uow.session.scalars(
                select(AssignmentRow).where(AssignmentRow.work_order_id == work_order.id)
            )
            assert [row.site for row in rows] == [site]  # never offered elsewhere
