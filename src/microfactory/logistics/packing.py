"""Packing: made lines of an order become parcels, one per site, each with its handoff queued.

Packing is a person's act at the packing station (`shipments pack ORDER`, `POST
/api/v1/orders/{id}/pack`): the goods are in the box when they say so. Without named lines, each
site packs once all of that site's lines of the order are made (an order made at two sites leaves
in two parcels, each when it is ready); with named lines, exactly those (grouped by site). A line
whose work order quality holds (held, rework, scrapped) is refused unless a person gives an
override reason, which is audited. Lines move made -> packed through `orders.transitions`; the
parcel is recorded with its mass and size (from the catalog's `mass_g`, else the defaults of
`model`) and, in the same transaction, the outbox message `logistics.handoff` keyed by the
parcel's id, which buys the label, books the pickup and tells the store (`handoff`).

The order's row is locked first (`get_order(lock=True)`) and the parcel's idempotency key (order,
site and lines) is unique, so two packers of one order make one parcel.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from microfactory.access.model import Principal
from microfactory.catalog.service import catalog_version
from microfactory.db.base import new_id
from microfactory.db.locks import become_writer
from microfactory.db.tables.logistics import ShipmentRow
from microfactory.db.tables.network import AssignmentRow
from microfactory.db.tables.orders import OrderLineRow, OrderRow, WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid
from microfactory.logistics.carrier_book import PartnerNotFound, partner_specs
from microfactory.logistics.carriers.kinds import carrier_kind
from microfactory.logistics.model import PartMass, ShipmentStatus, line_mass_g, parcel_for
from microfactory.network.stored_state import active_network_row, network_of
from microfactory.orders import audit, service, transitions
from microfactory.orders.lifecycle import ACTIVE_ASSIGNMENT, LineStatus, WorkOrderStatus
from microfactory.outbox.store import enqueue
from microfactory.problems import Problem
from microfactory.production.units import serials_of

HANDOFF_KIND = "logistics.handoff"
QUALITY_HOLDS = frozenset({WorkOrderStatus.HELD, WorkOrderStatus.REWORK, WorkOrderStatus.SCRAPPED})


class NotPackable(Conflict):
    """Nothing (or not everything named) can be packed: each reason is in the message."""


@dataclass(frozen=True)
class Packed:
    shipments: list[ShipmentRow]
    created: bool  # False: every parcel was packed before (a repeat)
    waiting: list[str]  # why the sites not packed wait (packing the whole order)


def pack(
    uow: UnitOfWork,
    order_id: str,
    *,
    line_ids: Sequence[str] | None = None,
    override_reason: str | None = None,
    actor: str = "operator",
    who: Principal | None = None,
) -> Packed:
    """Pack the order's made lines, one parcel per site; see the module's docstring for the rules."""
    if override_reason is not None and not override_reason.strip():
        raise Invalid(
            "the pack request is not valid", [Problem("override_reason", "blank: leave it out or give one")]
        )
    become_writer(uow.session)
    order = service.get_order(uow, order_id, lock=True)
    groups, waiting = _groups(order, line_ids, override_reason)
    if who is not None and who.role == "site":
        groups = {site: lines for site, lines in groups.items() if site == who.site}
    if not groups:
        return _packed_before(uow, order, line_ids, waiting, who)
    made: list[ShipmentRow] = []
    created = False
    for site, lines in sorted(groups.items()):
        row, new = _parcel(uow, order, site, lines, override_reason, actor)
        made.append(row)
        created = created or new
    if created:
        service.refresh_status(uow, order, reason="packed", actor=actor)
    return Packed(made, created, waiting)


@dataclass(frozen=True)
class Packable:
    """An order's lines at one site that `pack` would put in a parcel now (no override needed)."""

    order_id: str
    site: str
    line_ids: list[str]


def packable(uow: UnitOfWork, site: str | None = None, limit: int = 50) -> list[Packable]:
    """What packing stations can pack now, by order id: the same rule as `pack` without
    named lines (a site packs once all of its open lines of the order are made and not held)."""
    query = (
        select(OrderLineRow.order_id)
        .where(OrderLineRow.status == LineStatus.MADE.value)
        .group_by(OrderLineRow.order_id)
        .order_by(OrderLineRow.order_id)
    )
    if site is not None:
        query = query.where(OrderLineRow.site == site)
    found: list[Packable] = []
    for order_id in uow.session.scalars(query.limit(limit * 4)):
        groups, _waiting = _ready_sites(service.get_order(uow, order_id), None)
        found += [
            Packable(order_id, ready, [line.id for line in lines])
            for ready, lines in sorted(groups.items())
            if site is None or ready == site
        ]
    return found[:limit]


def _groups(
    order: OrderRow, line_ids: Sequence[str] | None, override: str | None
) -> tuple[dict[str, list[OrderLineRow]], list[str]]:
    """The lines to pack by site, and why the other sites wait; refuses what cannot be packed."""
    by_id = {line.id: line for line in order.lines}
    if line_ids is not None:
        problems = [
            Problem(f"lines[{index}]", f"line {line_id} is not a line of order {order.id}")
            for index, line_id in enumerate(line_ids)
            if line_id not in by_id
        ]
        if problems or not line_ids:
            raise Invalid(
                f"the lines do not fit order {order.id}", problems or [Problem("lines", "name at least one")]
            )
        named = [by_id[line_id] for line_id in dict.fromkeys(line_ids)]
        refusals = [reason for line in named if (reason := _refusal(line, override)) is not None]
        if refusals:
            raise NotPackable(f"order {order.id} cannot be packed: " + "; ".join(refusals))
        groups: dict[str, list[OrderLineRow]] = {}
        for line in named:
            if line.status != LineStatus.PACKED:
                groups.setdefault(str(line.site), []).append(line)
        return groups, []
    return _ready_sites(order, override)


def _ready_sites(order: OrderRow, override: str | None) -> tuple[dict[str, list[OrderLineRow]], list[str]]:
    """Each site whose every open line of the order is made (and not held), with those lines."""
    sites: dict[str, list[OrderLineRow]] = {}
    for line in order.lines:
        if line.work_order is not None and line.status not in _GONE:
            sites.setdefault(str(line.site or line.work_order.site), []).append(line)
    groups: dict[str, list[OrderLineRow]] = {}
    waiting: list[str] = []
    for site, lines in sites.items():
        refusals = [reason for line in lines if (reason := _refusal(line, override)) is not None]
        if refusals:
            waiting.append(f"site {site}: " + "; ".join(refusals))
        elif any(line.status != LineStatus.PACKED for line in lines):
            groups[site] = [line for line in lines if line.status != LineStatus.PACKED]
    return groups, waiting


def _packed_before(
    uow: UnitOfWork,
    order: OrderRow,
    line_ids: Sequence[str] | None,
    waiting: list[str],
    who: Principal | None,
) -> Packed:
    """Nothing new to pack: the parcels that hold the lines asked for (a repeat), else why not."""
    query = select(ShipmentRow).where(ShipmentRow.order_id == order.id).order_by(ShipmentRow.created_at)
    rows = [
        row
        for row in uow.session.scalars(query)
        if (who is None or who.role != "site" or row.site == who.site)
        and (line_ids is None or {entry["line_id"] for entry in row.lines} & set(line_ids))
    ]
    if rows:
        return Packed(rows, False, waiting)
    reason = "; ".join(waiting) if waiting else "every line is packed, shipped or needs no making"
    where = f" at site {who.site}" if who is not None and who.role == "site" else ""
    raise NotPackable(f"order {order.id} has nothing to pack{where}: {reason}")


_GONE = frozenset(
    {LineStatus.SHIPPED, LineStatus.DELIVERED, LineStatus.CANCELLED, LineStatus.FULFILMENT_ONLY}
)


def _refusal(line: OrderLineRow, override: str | None) -> str | None:
    """Why this line cannot be packed now, or None. A packed line is fine (already in a parcel)."""
    work_order = line.work_order
    if line.status == LineStatus.PACKED:
        return None
    if work_order is None:
        return f"line {line.id} has no work order (it ships through POST /orders/{{id}}/shipments)"
    status = WorkOrderStatus(work_order.status)
    if status in QUALITY_HOLDS and override is None:
        return (
            f"work order {work_order.id} of line {line.id} is {status} by quality (give an override reason)"
        )
    if line.status != LineStatus.MADE:
        return f"line {line.id} is {line.status}, work order {work_order.id} is {status}: not made yet"
    if status not in QUALITY_HOLDS and status != WorkOrderStatus.MADE:
        return f"work order {work_order.id} of line {line.id} is {status}, not made"
    return None


def _parcel(
    uow: UnitOfWork,
    order: OrderRow,
    site: str,
    lines: list[OrderLineRow],
    override: str | None,
    actor: str,
) -> tuple[ShipmentRow, bool]:
    key = _key(order.id, site, [line.id for line in lines])
    existing = uow.session.scalar(select(ShipmentRow).where(ShipmentRow.idempotency_key == key))
    if existing is not None:
        return existing, False
    network_row = active_network_row(uow)
    network = network_of(network_row) if network_row is not None else None
    site_model = network.site(site) if network is not None else None
    if network is None or site_model is None:
        raise Conflict(f"site {site} is not in the active network: its partner is unknown")
    partner = network.partners.get(site_model.fulfilment_partner)
    specs = partner_specs(uow)
    if partner is None or partner.id not in specs:
        raise PartnerNotFound(site_model.fulfilment_partner)
    shipment_id = new_id("shp")
    reason = f"packed in parcel {shipment_id}" + (f"; override: {override}" if override else "")
    stored_lines, masses, units = [], [], 0
    for line in lines:
        work_order = line.work_order
        assert work_order is not None
        transitions.move_line(uow, line, LineStatus.PACKED, reason=reason, actor=actor, refresh_order=False)
        stored_lines.append(
            {
                "line_id": line.id,
                "qty": line.qty,
                "work_order_id": work_order.id,
                "serials": serials_of(uow, work_order.id),
            }
        )
        masses.append(_mass_g(uow, work_order))
        units += line.qty
    parcel = parcel_for(masses, units)
    row = ShipmentRow(
        id=shipment_id,
        idempotency_key=key,
        order_id=order.id,
        site=site,
        partner=partner.id,
        carrier=str(carrier_kind(specs[partner.id])),
        status=ShipmentStatus.PACKED,
        lines=stored_lines,
        mass_kg=parcel.mass_kg,
        length_cm=parcel.length_cm,
        width_cm=parcel.width_cm,
        height_cm=parcel.height_cm,
        policy=partner.policy,
        promised_delivery_at=_promised(uow, [line.work_order.id for line in lines if line.work_order]),
        override_reason=override,
        actor=actor,
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
            uow.session.flush()
    except IntegrityError as error:  # packed by another process under the same key meanwhile
        raise Conflict(f"these lines of order {order.id} were packed by someone else just now") from error
    enqueue(uow, HANDOFF_KIND, row.id, {"shipment_id": row.id})
    audit.record(uow, "shipment", row.id, ShipmentStatus.PACKED, None, reason, actor)
    return row, True


def _key(order_id: str, site: str, line_ids: list[str]) -> str:
    digest = hashlib.sha256("|".join(sorted(line_ids)).encode()).hexdigest()[:24]
    return f"{order_id}:{site}:{digest}"[:120]


def _mass_g(uow: UnitOfWork, work_order: WorkOrderRow) -> Decimal:
    """The work order's mass from its BOM: the catalog's `mass_g` of made parts, defaults for the rest."""
    catalog = catalog_version(uow, work_order.catalog, work_order.catalog_version)
    parts = []
    for entry in work_order.translation.get("bom", []):
        part = catalog.parts.get(str(entry["part"])) if catalog is not None else None
        mass = part.make.mass_g if part is not None and part.make is not None else None
        parts.append(
            PartMass(
                str(entry.get("kind")),
                Decimal(str(entry["qty"])),
                None if mass is None else Decimal(str(mass)),
            )
        )
    return line_mass_g(parts)


def _promised(uow: UnitOfWork, work_order_ids: list[str]) -> datetime | None:
    """The earliest delivery promised for the parcel's work: the one the rate must keep."""
    promised = [
        at
        for at in uow.session.scalars(
            select(AssignmentRow.promised_delivery_at).where(
                AssignmentRow.work_order_id.in_(work_order_ids),
                AssignmentRow.status.in_([status.value for status in ACTIVE_ASSIGNMENT]),
            )
        )
        if at is not None
    ]
    return min(promised) if promised else None
