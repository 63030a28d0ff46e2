"""What happens at a site changes the plan: a machine down, a closed day, a stock count.

Work a site can no longer make is re-routed (if it has not started: scheduled or running work
stays, and a person decides); everything else at the site is re-promised, and promises that slip
past the first date given to the customer are flagged.

An event runs under the routing lock (`db.locks.hold(ROUTING)`, taken first): it changes what the
router reads and routes again. Work to move is claimed by its order without waiting
(`orders.service.claim_orders`) and its assignment re-read: an order a cancel or a store edit holds at
that moment keeps its offer, which the next decline, expiry or event moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import select

from microfactory.catalog.service import active_catalogs
from microfactory.db import locks
from microfactory.db.base import utcnow
from microfactory.db.tables.network import AssignmentRow, MachineRow, SiteRow, StockRow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid
from microfactory.network import service
from microfactory.network.model import Network
from microfactory.network.promise import promise
from microfactory.network.stored_state import active_assignments, current, demand_of, site_calendar
from microfactory.orders import audit
from microfactory.problems import Problem

EventKind = Literal["machine_down", "machine_up", "site_closed", "site_open", "stock_count"]
EVENT_KINDS: tuple[EventKind, ...] = ("machine_down", "machine_up", "site_closed", "site_open", "stock_count")


@dataclass(frozen=True)
class SiteEvent:
    """`site_closed` with a `day` closes the site for that day; without one, until `site_open`."""

    kind: EventKind
    site: str
    machine: str | None = None
    day: date | None = None
    part: str | None = None
    qty: Decimal | None = None
    reason: str = ""


@dataclass
class EventOutcome:
    rerouted: list[service.RoutingOutcome] = field(default_factory=list)
    repromised: list[str] = field(default_factory=list)  # assignment ids
    slipped: list[str] = field(default_factory=list)  # work order ids whose promise slipped


class EventError(Invalid):
    """The event names something the network does not have."""


def apply_event(
    uow: UnitOfWork, event: SiteEvent, now: datetime | None = None, actor: str = "system"
) -> EventOutcome:
    """Record the event, then re-route the work it makes impossible and re-promise the rest."""
    now = now or utcnow()
    locks.hold(uow.session, locks.ROUTING)
    ctx = current(uow)
    site = ctx.network.site(event.site)
    if site is None:
        raise EventError("unknown site", [Problem("site", f"no site '{event.site}' in {ctx.network.name}")])
    session = uow.session
    if event.kind in ("machine_down", "machine_up"):
        if not event.machine:
            raise EventError(
                f"{event.kind} needs a machine", [Problem("machine", f"{event.kind} needs a machine id")]
            )
        machine = site.machine(event.machine)
        if machine is None:
            raise EventError(
                "unknown machine", [Problem("machine", f"no machine '{event.machine}' at {site.id}")]
            )
        row = session.scalar(
            select(MachineRow).where(MachineRow.network_id == ctx.row.id, MachineRow.machine == machine.id)
        )
        if row is not None:
            row.up = event.kind == "machine_up"
            row.reason = event.reason
            row.changed_at = now
    elif event.kind in ("site_closed", "site_open"):
        _open_or_close(uow, ctx.row.id, site.id, event)
    elif event.kind == "stock_count":
        _known_part(uow, ctx.network, event.part)
        _count(uow, ctx.row.id, site.id, event, now)
    else:  # pragma: no cover - the Literal rules it out
        raise EventError("unknown event", [Problem("kind", f"not one of {', '.join(EVENT_KINDS)}")])
    audit.record(uow, "site", site.id, event.kind, None, _describe(event), actor)
    session.flush()
    outcome = EventOutcome()
    if site.is_central:
        return outcome
    outcome.rerouted = _reroute_impossible(uow, site.id, event, now, actor)
    repromised, slipped = repromise_site(uow, site.id, now, actor)
    outcome.repromised, outcome.slipped = repromised, slipped
    return outcome


def _describe(event: SiteEvent) -> str:
    parts: list[str] = [event.kind]
    for label, value in (
        ("machine", event.machine),
        ("day", event.day),
        ("part", event.part),
        ("qty", event.qty),
    ):
        if value is not None:
            parts.append(f"{label} {value}")
    if event.reason:
        parts.append(f"({event.reason})")
    return " ".join(parts)


def _open_or_close(uow: UnitOfWork, network_id: int, site_id: str, event: SiteEvent) -> None:
    row = uow.session.scalar(select(SiteRow).where(SiteRow.network_id == network_id, SiteRow.site == site_id))
    if row is None:  # pragma: no cover - rows are made when the network is loaded
        return
    days = set(row.closed_dates)
    if event.day is not None:
        if event.kind == "site_closed":
            days.add(event.day.isoformat())
        else:
            days.discard(event.day.isoformat())
        row.closed_dates = sorted(days)
    else:
        row.open = event.kind == "site_open"
    row.note = event.reason


def _known_part(uow: UnitOfWork, network: Network, part: str | None) -> None:
    """A count names a part a catalog or the network's stock knows; a typo would count a new part."""
    if part is None or any(part in site.stock for site in network.sites.values()):
        return
    if any(catalog.parts.get(part) is not None for catalog in active_catalogs(uow).catalogs):
        return
    raise EventError(
        "unknown part",
        [Problem("part", f"no part '{part}' in the loaded catalogs or the stock of {network.name}")],
    )


def _count(uow: UnitOfWork, network_id: int, site_id: str, event: SiteEvent, now: datetime) -> None:
    if event.part is None or event.qty is None or event.qty < 0:
        raise EventError("a stock count needs a part and a qty >= 0", [Problem("qty", "part and qty >= 0")])
    row = uow.session.scalar(
        select(StockRow).where(
            StockRow.network_id == network_id, StockRow.site == site_id, StockRow.part == event.part
        )
    )
    if row is None:
        uow.session.add(StockRow(network_id=network_id, site=site_id, part=event.part, on_hand=event.qty))
    else:
        row.on_hand = event.qty
        row.counted_at = now


def _reroute_impossible(
    uow: UnitOfWork, site_id: str, event: SiteEvent, now: datetime, actor: str
) -> list[service.RoutingOutcome]:
    """Withdraw what the site cannot make any more (newest first for stock) and route it again."""
    ctx = current(uow)
    movable = service.movable_assignments(uow, ctx.row.name, site_id)
    reasons = service.cannot_make(uow, ctx, site_id, movable)
    withdrawn = [row for row in movable if row.id in reasons]
    if event.kind == "stock_count" and event.part is not None:
        available = ctx.router.states[site_id].available.get(event.part, Decimal(0))
        for row in reversed(movable):
            if available >= 0:
                break
            if row in withdrawn:
                continue
            held = demand_of(_work_order(uow, row), None).parts.get(event.part, Decimal(0))
            if held > 0:
                withdrawn.append(row)
                reasons[row.id] = f"stock: {event.part} counted {event.qty}, not enough for the work offered"
                available += held
    return service.reroute(uow, withdrawn, reasons, now, actor)


def _work_order(uow: UnitOfWork, row: AssignmentRow) -> WorkOrderRow:
    work_order = uow.session.get(WorkOrderRow, row.work_order_id)
    assert work_order is not None  # a foreign key
    return work_order


def repromise_site(
    uow: UnitOfWork, site_id: str, now: datetime | None = None, actor: str = "system"
) -> tuple[list[str], list[str]]:
    """Promise again every open assignment at the site, first come first served: the queue laid
    again on the machines up, from now, as routing laid it.

    Returns the assignment ids re-promised and the work orders whose promise slipped.
    """
    now = now or utcnow()
    ctx = current(uow)
    site = ctx.network.sites[site_id]
    partner = ctx.network.partner_of(site)
    calendar = site_calendar(ctx.network, ctx.router.states[site_id], site_id)
    rows: list[AssignmentRow] = []
    demands = []
    for row in active_assignments(uow, ctx.row.name, site_id):
        demand = demand_of(_work_order(uow, row), None)
        if ctx.router.equipment_reasons(site_id, demand):
            continue  # started work the site cannot finish now: a person decides, the promise stands
        rows.append(row)
        demands.append(demand)
    repromised: list[str] = []
    slipped: list[str] = []
    for row, work in zip(rows, ctx.router.queue_minutes(site_id, demands, now), strict=True):
        if work is None:
            continue
        if service.update_promise(
            uow, row, promise(site, partner, now, work, row.distance_km, calendar), actor
        ):
            slipped.append(row.work_order_id)
        repromised.append(row.id)
    uow.session.flush()
    return repromised, slipped
