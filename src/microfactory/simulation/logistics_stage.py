"""Demo stage of logistics: the units made are packed, handed off, tracked to the customer's door.

It runs after production (and quality, when that stage is there): every order whose lines are made
is packed (`logistics.packing`, one parcel per site), and each parcel's handoff runs through the real
outbox handler (`Handoff.handler`) on the demo's clock. The demo network's partners are mapped to the
simulated carrier in this demo only (`CarrierBook.use`): deterministic rates, labels and tracking by
clock, so two runs give the same figures. Tracking is polled (`polling.poll_due`) as the clock moves
in steps of `POLL_STEP` until every parcel is delivered (or `MAX_DAYS` have passed).

The report gains, per site: parcels, delivered, the shipping cost (Decimal, as a string), the
shipping emissions (kg CO2e, the carrier's estimate) and the on-time rate against the promised
delivery date (parcels without a promise are not counted in it).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select

from microfactory.db.engine import make_session_factory
from microfactory.db.tables.logistics import ShipmentRow
from microfactory.errors import Conflict
from microfactory.logistics import packing
from microfactory.logistics.carrier_book import CarrierBook, partner_specs
from microfactory.logistics.carriers.simulated import SimulatedCarrier
from microfactory.logistics.handoff import Handoff
from microfactory.logistics.model import FINAL
from microfactory.logistics.polling import poll_due
from microfactory.outbox.dispatcher import Handlers, dispatch_due
from microfactory.simulation.shop_floor import SimClock

if TYPE_CHECKING:  # demo.py imports this stage
    from microfactory.simulation.demo import DemoRun

POLL_STEP = timedelta(hours=6)
MAX_DAYS = 14
ACTOR = "demo-packer"


@dataclass
class _SiteTally:
    parcels: int = 0
    delivered: int = 0
    cost: Decimal = Decimal(0)
    emissions_kg: Decimal = Decimal(0)
    promised: int = 0
    on_time: int = 0


def ship(run: DemoRun) -> None:
    """The stage: pack, hand off, track; print the figures and put them in the report."""
    assert run.replay is not None, "the demo's stages run on its simulated clock"
    clock = SimClock(run.replay)
    factory = make_session_factory(run.engine)
    handoff = Handoff(factory, _simulated_partners(run, clock), clock=clock, worker="demo")
    packed = _pack_made_orders(run)
    handlers = Handlers({packing.HANDOFF_KIND: handoff.handler()})
    with Progress(console=run.console, transient=True) as progress:
        task = progress.add_task("handing parcels off", total=packed)
        report = dispatch_due(
            factory, handlers, kinds=[packing.HANDOFF_KIND], now=clock.peek(), worker_id="demo", limit=10_000
        )
        progress.advance(task, len(report.outcomes))
    _track_until_delivered(run, handoff, clock)
    run.figures["logistics"] = _figures(run)
    _print(run, run.figures["logistics"])


def _simulated_partners(run: DemoRun, clock: SimClock) -> CarrierBook:
    """Every partner of the demo network speaks to the simulated carrier (this demo only)."""
    book = CarrierBook()
    with run.unit_of_work() as uow:
        partners = sorted(partner_specs(uow))
    for partner in partners:
        book.use(partner, SimulatedCarrier(clock.peek))
    return book


def _pack_made_orders(run: DemoRun) -> int:
    """Pack each order's made lines (one parcel per site); orders with nothing made yet are left."""
    parcels = 0
    for order_id in run.order_ids:
        with run.unit_of_work() as uow, uow.write_turn():
            try:
                done = packing.pack(uow, order_id, actor=ACTOR)
            except Conflict:
                continue  # nothing of this order is made (or all of it waits for another site)
            parcels += len(done.shipments) if done.created else 0
            uow.commit()
    return parcels


def _track_until_delivered(run: DemoRun, handoff: Handoff, clock: SimClock) -> None:
    """Move the clock in steps and poll the carriers until every parcel is at a final status."""
    deadline = clock.peek() + timedelta(days=MAX_DAYS)
    while clock.peek() < deadline and _on_the_way(run):
        clock.advance_to(clock.peek() + POLL_STEP)
        poll_due(handoff, timedelta(hours=1), limit=10_000)


def _on_the_way(run: DemoRun) -> bool:
    with run.unit_of_work() as uow:
        query = select(ShipmentRow.id).where(ShipmentRow.status.not_in([s.value for s in FINAL])).limit(1)
        return uow.session.scalar(query) is not None


def _figures(run: DemoRun) -> dict[str, Any]:
    tallies: dict[str, _SiteTally] = defaultdict(_SiteTally)
    with run.unit_of_work() as uow:
        for row in uow.session.scalars(select(ShipmentRow).order_by(ShipmentRow.id)):
            _count(tallies[row.site], row)
    sites = {site: _site_json(tally) for site, tally in sorted(tallies.items())}
    total = _SiteTally()
    for tally in tallies.values():
        for name in ("parcels", "delivered", "cost", "emissions_kg", "promised", "on_time"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
    return {"sites": sites, **_site_json(total)}


def _count(tally: _SiteTally, row: ShipmentRow) -> None:
    tally.parcels += 1
    tally.cost += row.rate_amount or Decimal(0)
    emissions = (row.rate or {}).get("emissions_kg")
    tally.emissions_kg += Decimal(str(emissions)) if emissions is not None else Decimal(0)
    if row.delivered_at is None:
        return
    tally.delivered += 1
    if row.promised_delivery_at is not None:
        tally.promised += 1
        tally.on_time += int(_aware(row.delivered_at) <= _aware(row.promised_delivery_at))


def _aware(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _site_json(tally: _SiteTally) -> dict[str, Any]:
    return {
        "parcels": tally.parcels,
        "delivered": tally.delivered,
        "cost": str(tally.cost.quantize(Decimal("0.01"))),
        "emissions_kg": str(tally.emissions_kg.quantize(Decimal("0.001"))),
        "on_time_rate": round(tally.on_time / tally.promised, 3) if tally.promised else None,
    }


def _print(run: DemoRun, figures: dict[str, Any]) -> None:
    table = Table(title=f"logistics: {figures['parcels']} parcels, {figures['delivered']} delivered")
    for column in ("site", "parcels", "delivered", "cost", "kg CO2e", "on time"):
        table.add_column(column, justify="left" if column == "site" else "right")
    rows = [*figures["sites"].items(), ("all", figures)]
    for site, row in rows:
        on_time = "-" if row["on_time_rate"] is None else f"{row['on_time_rate']:.0%}"
        table.add_row(
            site, str(row["parcels"]), str(row["delivered"]), row["cost"], row["emissions_kg"], on_time
        )
    run.console.print(table)
