"""Demo stages of the network: load the example network, route the demo's work orders over it.

The report shows, per site, how many orders, work orders and units it got and how far on average
its customers are: the point of local production is that this distance is short.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from microfactory.db.tables.orders import WorkOrderRow
from microfactory.network import service
from microfactory.network.document import read_network_file

if TYPE_CHECKING:  # demo.py imports these stages
    from microfactory.simulation.demo import DemoRun


def load_network(run: DemoRun) -> None:
    with run.unit_of_work() as uow:
        result = service.load_network(uow, read_network_file(run.shared / "examples/network.yaml"))
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
            outcomes = service.route_work_orders(uow, progress=lambda n: progress.advance(task, n))
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
    _print(run, tally, factors, fallbacks)


def _print(run: DemoRun, tally: dict[str, _SiteTally], factors: Counter[str], fallbacks: int) -> None:
    table = Table(title="routing: where the work went")
    for column in ("site", "orders", "work orders", "units", "mean km to customer"):
        table.add_column(column, justify="left" if column == "site" else "right")
    for site, row in sorted(tally.items(), key=lambda item: -item[1].work_orders):
        mean = f"{row.km / row.located:,.0f}" if row.located else "-"
        table.add_row(site, str(len(row.orders)), str(row.work_orders), str(row.units), mean)
    run.console.print(table)
    shown = ", ".join(f"{factor}: {count}" for factor, count in factors.most_common())
    run.console.print(f"central fallbacks: {fallbacks} work orders; deciding factors: {shown}")
