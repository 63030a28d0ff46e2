"""Demo stages of the network: load the example network, route the demo's work orders over it.

The report shows, per site, how many orders, work orders and units it got and how far on average
its customers are: the point of local production is that this distance is short.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from microfactory.db.base import utcnow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.network import service
from microfactory.network.document import read_network_file

if TYPE_CHECKING:  # demo.py imports these stages
    from microfactory.simulation.demo import DemoRun


def load_network(run: DemoRun) -> None:
    with run.unit_of_work() as uow:
        result = service.load_network(uow, read_network_file(run.examples.network))
        uow.commit()
    network = result.network
    machines = sum(len(site.machines) for site in network.local_sites)
    run.console.print(f"network {network.name}: {len(network.local_sites)} local sites, {machines} machines")


@dataclass
class _SiteTally:
    orders: set[str] = field(default_factory=set)
    work_orders: int = 0
    units: int = 0
    km: float = 0.0
    located: int = 0


def route_orders(run: DemoRun) -> None:
    """Route every released work order and report, per site, orders, units and distance."""
    tally: dict[str, _SiteTally] = {}
    factors: Counter[str] = Counter()
    fallbacks = 0
    with run.unit_of_work() as uow:
        pending = uow.session.scalar(
            select(func.count()).select_from(WorkOrderRow).where(WorkOrderRow.status == "released")
        )
        with Progress(console=run.console, transient=True) as progress:
            task = progress.add_task("routing work orders", total=pending or 0)
            outcomes = service.route_work_orders(
                uow, now=utcnow(), progress=lambda n: progress.advance(task, n)
            )
        wanted = set(run.order_ids)
        for outcome in outcomes:
            factors[str(outcome.explanation.get("deciding_factor"))] += 1
            fallbacks += len(outcome.work_order_ids) if outcome.central else 0
            for assignment in outcome.assignments:
                if assignment.order_id not in wanted:
                    continue
                site = tally.setdefault(outcome.site or "(no site)", _SiteTally())
                work_order = uow.session.get(WorkOrderRow, assignment.work_order_id)
                site.orders.add(assignment.order_id)
                site.work_orders += 1
                site.units += work_order.qty if work_order is not None else 0
                if assignment.distance_km is not None:
                    site.km += assignment.distance_km
                    site.located += 1
        uow.commit()
    run.figures["routing"] = _figures(tally, factors, fallbacks)
    _print(run, run.figures["routing"])


def _figures(tally: dict[str, _SiteTally], factors: Counter[str], fallbacks: int) -> dict[str, Any]:
    """Per site (most work first, then by name) its orders, work orders, units and mean distance."""
    ranked = sorted(tally.items(), key=lambda item: (-item[1].work_orders, item[0]))
    return {
        "sites": {
            site: {
                "orders": len(row.orders),
                "work_orders": row.work_orders,
                "units": row.units,
                "mean_km": round(row.km / row.located, 1) if row.located else None,
            }
            for site, row in ranked
        },
        "central_fallbacks": fallbacks,
        "deciding_factors": dict(sorted(factors.items(), key=lambda item: (-item[1], item[0]))),
    }


def _print(run: DemoRun, figures: dict[str, Any]) -> None:
    table = Table(title="routing: where the work went")
    for column in ("site", "orders", "work orders", "units", "mean km to customer"):
        table.add_column(column, justify="left" if column == "site" else "right")
    for site, row in figures["sites"].items():
        mean = "-" if row["mean_km"] is None else f"{row['mean_km']:,.0f}"
        table.add_row(site, str(row["orders"]), str(row["work_orders"]), str(row["units"]), mean)
    run.console.print(table)
    shown = ", ".join(f"{factor}: {count}" for factor, count in figures["deciding_factors"].items())
    run.console.print(
        f"central fallbacks: {figures['central_fallbacks']} work orders; deciding factors: {shown}"
    )
