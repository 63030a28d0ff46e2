"""`microfactory demo`: a pilot on a database of its own, end to end, with a report.

Each stage is a function of `DemoRun` that prints its part of the report and puts its figures in
`run.figures` (what `--report` writes as JSON); later capabilities add their stage to `STAGES`.
The caller (the CLI) gives the engine and the console: the demo is a use of the services, not an
entry point, and never reads the configured database.

The same seed gives the same figures: the orders come from the seed, the clock is simulated from
`DemoSettings.start`, ids are drawn from the seed (`db.base.replaying`), and the plans are solved
in deterministic time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.db.base import Replay, replaying
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service as order_service
from microfactory.simulation.demo_network import load_network, route_orders
from microfactory.simulation.demo_scheduling import plan_sites
from microfactory.simulation.example_files import ExampleFiles
from microfactory.simulation.logistics_stage import ship
from microfactory.simulation.order_generator import generate_orders
from microfactory.simulation.production_stage import produce
from microfactory.simulation.quality_stage import inspect_units

DEMO_START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)  # a Monday morning, before any site opens


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """What makes one demo differ from another; the same settings give the same figures."""

    orders: int = 300
    seed: int = 7
    start: datetime = DEMO_START  # the simulated clock starts here (aware)
    plan_seconds: float = 1.0  # CP-SAT's deterministic time per site (work done, about seconds)
    production_share: float = 0.2  # of each site's queue, accepted and run through its agent
    agent_poll_minutes: float = 10.0  # simulated minutes between two passes of a site's agent
    failure_rate: float = 0.03  # share of machine jobs that fail part way (and are run again)


@dataclass
class DemoRun:
    """What the stages share: the database, the examples, the orders taken in, the figures so far."""

    engine: Engine
    console: Console
    examples: ExampleFiles
    settings: DemoSettings
    order_ids: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)
    replay: Replay | None = None  # the simulated clock and ids, while the stages run

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork.for_engine(self.engine)


Stage = Callable[[DemoRun], None]


def run_demo(engine: Engine, console: Console, examples: ExampleFiles, settings: DemoSettings) -> DemoRun:
    """Run every stage on `engine` (a fresh, migrated database) and return the run with its figures."""
    run = DemoRun(engine, console, examples, settings)
    run.figures["demo"] = {
        "seed": settings.seed,
        "orders_asked": settings.orders,
        "start": settings.start.astimezone(UTC).isoformat(),
        "plan_seconds": settings.plan_seconds,
        "production_share": settings.production_share,
        "agent_poll_minutes": settings.agent_poll_minutes,
        "failure_rate": settings.failure_rate,
    }
    started = time.perf_counter()
    with replaying(settings.seed, settings.start) as replay:
        run.replay = replay
        for stage in STAGES:
            stage(run)
    console.print(f"[bold]demo finished in {time.perf_counter() - started:.1f} s[/bold]")
    return run


def load_examples(run: DemoRun) -> None:
    with run.unit_of_work() as uow:
        result = catalog_service.load_catalog(uow, read_catalog_file(run.examples.catalog))
        uow.commit()
    run.console.print(
        f"catalog {result.catalog.name} v{result.catalog.version}: {len(result.catalog.products)} products"
    )


def take_orders(run: DemoRun) -> None:
    new_orders = generate_orders(run.settings.orders, run.settings.seed)
    with Progress(console=run.console, transient=True) as progress:
        task = progress.add_task("taking orders in", total=len(new_orders))
        for new in new_orders:
            with run.unit_of_work() as uow:
                result = order_service.intake(uow, new)
                run.order_ids.append(result.order.id)
                uow.commit()
            progress.advance(task)


def report_intake(run: DemoRun) -> None:
    with run.unit_of_work() as uow:
        orders = [order_service.get_order(uow, order_id) for order_id in run.order_ids]
        run.figures["intake"] = intake_figures(orders)
    _print_intake(run.console, run.figures["intake"])


def intake_figures(orders: list[OrderRow]) -> dict[str, Any]:
    """Orders, lines, work orders, operations per capability and the problems of waiting lines."""
    lines = [line for order in orders for line in order.lines]
    work_orders = [line.work_order for line in lines if line.work_order is not None]
    per_capability: Counter[str] = Counter()
    minutes: Counter[str] = Counter()
    for work_order in work_orders:
        for op in work_order.translation["operations"]:
            per_capability[op["capability"]] += 1
            minutes[op["capability"]] += op["minutes"]
    reasons: Counter[str] = Counter()
    for line in lines:
        for problem in line.problems:
            reasons[f"{problem['path']}: {_reason(problem['message'])}"] += 1
    return {
        "orders": len(orders),
        "lines": len(lines),
        "work_orders": len(work_orders),
        "configurations": len({wo.configuration_key for wo in work_orders}),
        "needs_attention": sum(1 for line in lines if line.status == "needs_attention"),
        "operations": {
            capability: {"operations": count, "minutes": round(minutes[capability], 2)}
            for capability, count in per_capability.most_common()
        },
        "problems": dict(reasons.most_common()),
    }


def _print_intake(console: Console, figures: dict[str, Any]) -> None:
    console.print(
        f"[bold]{figures['orders']} orders[/bold], {figures['lines']} lines, "
        f"{figures['work_orders']} work orders, {figures['configurations']} distinct configurations"
    )
    table = Table(title="work-order operations per capability")
    for column in ("capability", "operations", "minutes", "hours"):
        table.add_column(column, justify="left" if column == "capability" else "right")
    for capability, row in figures["operations"].items():
        table.add_row(
            capability, str(row["operations"]), f"{row['minutes']:,.0f}", f"{row['minutes'] / 60:,.1f}"
        )
    console.print(table)
    attention = Table(title=f"lines needing attention: {figures['needs_attention']}")
    attention.add_column("problem")
    attention.add_column("lines", justify="right")
    for reason, count in list(figures["problems"].items())[:10]:
        attention.add_row(reason, str(count))
    console.print(attention)


def _reason(message: str) -> str:
    return message if len(message) < 70 else message[:67] + "..."


STAGES: list[Stage] = [
    load_examples,
    load_network,
    take_orders,
    report_intake,
    route_orders,
    plan_sites,
    produce,
    inspect_units,
    ship,  # last: it ships what production made and quality passed
]
