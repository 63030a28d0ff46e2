"""`microfactory demo`: a pilot on the embedded default database, end to end, with a report.

Each stage is a function of `DemoRun`; later capabilities add their stage to `STAGES`.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import Engine

from microfactory.catalog import service as catalog_service
from microfactory.catalog.load import read_catalog_file
from microfactory.db.tables.orders import OrderRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.orders import service as order_service
from microfactory.simulation.demo_network import load_network, route_orders
from microfactory.simulation.demo_scheduling import plan_sites
from microfactory.simulation.order_generator import generate_orders


@dataclass
class DemoRun:
    """What the stages share: where the examples are, the database, and the orders taken in."""

    shared: Path
    seed: int
    order_count: int
    console: Console
    engine: Engine  # the database the demo works in, passed in by its caller (the CLI's container)
    order_ids: list[str] = field(default_factory=list)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork.for_engine(self.engine)


Stage = Callable[[DemoRun], None]


def run_demo(
    orders: int, seed: int, shared: Path, console: Console | None = None, engine: Engine | None = None
) -> DemoRun:
    """Run every stage on `engine` (default: the CLI's configured database), printing to `console`."""
    if console is None or engine is None:
        from microfactory.cli import context

        console = console or context.console
        engine = engine or context.engine()
    if not (shared / "examples" / "catalog-keypad.yaml").exists():
        raise SystemExit(f"the example files are not in {shared.resolve()}: pass --shared PATH")
    run = DemoRun(shared=shared, seed=seed, order_count=orders, console=console, engine=engine)
    started = time.perf_counter()
    for stage in STAGES:
        stage(run)
    console.print(f"[bold]demo finished in {time.perf_counter() - started:.1f} s[/bold]")
    return run


def load_examples(run: DemoRun) -> None:
    with run.unit_of_work() as uow:
        result = catalog_service.load_catalog(
            uow, read_catalog_file(run.shared / "examples/catalog-keypad.yaml")
        )
        uow.commit()
    run.console.print(
        f"catalog {result.catalog.name} v{result.catalog.version}: {len(result.catalog.products)} products"
    )


def take_orders(run: DemoRun) -> None:
    new_orders = generate_orders(run.order_count, run.seed)
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
        _print_intake(run.console, orders)


def _print_intake(console: Console, orders: list[OrderRow]) -> None:
    lines = [line for order in orders for line in order.lines]
    work_orders = [line.work_order for line in lines if line.work_order is not None]
    keys = {wo.configuration_key for wo in work_orders}
    console.print(
        f"[bold]{len(orders)} orders[/bold], {len(lines)} lines, {len(work_orders)} work orders, "
        f"{len(keys)} distinct configurations"
    )
    per_capability: Counter[str] = Counter()
    minutes: Counter[str] = Counter()
    for work_order in work_orders:
        for op in work_order.translation["operations"]:
            per_capability[op["capability"]] += 1
            minutes[op["capability"]] += op["minutes"]
    table = Table(title="work-order operations per capability")
    for column in ("capability", "operations", "minutes", "hours"):
        table.add_column(column, justify="left" if column == "capability" else "right")
    for capability, count in per_capability.most_common():
        table.add_row(
            capability, str(count), f"{minutes[capability]:,.0f}", f"{minutes[capability] / 60:,.1f}"
        )
    console.print(table)
    reasons: Counter[str] = Counter()
    for line in lines:
        for problem in line.problems:
            reasons[f"{problem['path']}: {_reason(problem['message'])}"] += 1
    waiting = sum(1 for line in lines if line.status == "needs_attention")
    attention = Table(title=f"lines needing attention: {waiting}")
    attention.add_column("problem")
    attention.add_column("lines", justify="right")
    for reason, count in reasons.most_common(10):
        attention.add_row(reason, str(count))
    console.print(attention)


def _reason(message: str) -> str:
    return message if len(message) < 70 else message[:67] + "..."


STAGES: list[Stage] = [load_examples, load_network, take_orders, report_intake, route_orders, plan_sites]
