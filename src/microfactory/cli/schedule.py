"""`microfactory schedule ...`: solve benchmark instances and show site plans."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from microfactory.cli.errors import command_group
from microfactory.network.model import Site
from microfactory.scheduling.cpsat import SolverSettings, solve
from microfactory.scheduling.fjs import operation_position, read_fjs
from microfactory.scheduling.model import Objective, SchedulingProblem
from microfactory.scheduling.plan import Plan
from microfactory.scheduling.site_plan import SitePlan, SitePlanSettings, WorkOrderInput

app = command_group("Plan machines: solve flexible job-shop instances, show and export site plans.")
console = Console()
errors = Console(stderr=True)


def fjs_result(problem: SchedulingProblem, plan: Plan) -> dict[str, Any]:
    """The JSON of `schedule solve-fjs --json` (spec/interfaces.md), operations in file order."""
    positions = operation_position(problem)
    return {
        "makespan": plan.makespan,
        "status": plan.status,
        "lower_bound": plan.lower_bound,
        "operations": [
            {
                "job": positions[a.operation][0],
                "op": positions[a.operation][1],
                "machine": a.machine,
                "start": a.start,
                "end": a.end,
            }
            for a in plan.assignments
        ],
    }


@app.command("solve-fjs")
def solve_fjs(
    file: Path = typer.Argument(..., help="instance in the Brandimarte .fjs text format"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.0, help="seconds for the solver"),
    as_json: bool = typer.Option(False, "--json", help="print the plan as JSON"),
    workers: int = typer.Option(8, "--workers", min=1, help="CP-SAT search workers"),
) -> None:
    """Solve a flexible job-shop instance for minimum makespan (exit 2 if the file is not valid)."""
    try:
        problem = read_fjs(file)
    except (OSError, UnicodeDecodeError) as error:
        errors.print(f"[red]{file}: cannot read[/red]: {error}")
        raise typer.Exit(2) from error
    plan = solve(problem, Objective.makespan_only(), SolverSettings(time_limit=time_limit, workers=workers))
    result = fjs_result(problem, plan)
    if as_json:
        print(json.dumps(result))
        return
    table = Table(title=f"{file.name}: {len(problem.jobs)} jobs, {len(problem.machines)} machines")
    for column in ("job", "op", "machine", "start", "end"):
        table.add_column(column, justify="right")
    for row in sorted(result["operations"], key=lambda r: (r["machine"], r["start"])):
        table.add_row(*(str(row[key]) for key in ("job", "op", "machine", "start", "end")))
    console.print(table)
    bound = "unknown" if plan.lower_bound is None else str(plan.lower_bound)
    console.print(
        f"makespan [bold]{plan.makespan}[/bold] ({plan.status}), lower bound {bound}, "
        f"{plan.seconds:.1f} s by {plan.solver}"
    )


NetworkOption = typer.Option(
    None, "--network", help="network YAML, with --sample (default: the project's examples/network.yaml)"
)
CatalogOption = typer.Option(
    None,
    "--catalog",
    help="catalog YAML, with --sample (default: the project's examples/catalog-keypad.yaml)",
)
SampleOption = typer.Option(
    0, "--sample", min=0, help="plan N sample orders from the files instead of the stored work orders"
)


def _site_plan(
    site_id: str,
    network_file: Path | None,
    catalog_file: Path | None,
    sample: int,
    seed: int,
    time_limit: float,
    release: bool = False,
) -> SitePlan:
    from microfactory.scheduling.site_plan import plan_site

    now = datetime.now(UTC)
    settings = SitePlanSettings(time_limit=time_limit)
    if release and sample:
        errors.print("[red]--release plans the stored work; it cannot be used with --sample[/red]")
        raise typer.Exit(2)
    if not sample:
        return _stored_plan(site_id, now, settings, release)
    site, work_orders = _sample(site_id, network_file, catalog_file, sample, seed, now)
    return plan_site(site, work_orders, now, settings)


def _stored_plan(site_id: str, now: datetime, settings: SitePlanSettings, release: bool) -> SitePlan:
    """Plan the site's stored work and re-promise it from the plan (as the docs say plans do);
    with `release`, keep the plan and release its operations to the site (`production.release`)."""
    from microfactory.cli.context import unit_of_work
    from microfactory.production.release import release_plan
    from microfactory.scheduling.service import local_site, plan_and_promise, site_work_orders

    with unit_of_work() as uow, uow.write_turn():
        site = local_site(uow, site_id)
        if not site_work_orders(uow, site, now) and not release:
            errors.print(
                f"[yellow]{site.id} has no work orders to plan[/yellow] (route some, or use --sample N)"
            )
            raise typer.Exit(0)
        if release:
            done = release_plan(uow, site_id, now, settings, actor="cli")
            uow.commit()
            errors.print(
                f"released plan {done.plan_id}: {done.released} operations released, {done.planned} planned"
                f" (offered work), {done.superseded} replaced, {done.kept} of started work kept"
            )
            return done.site_plan
        site_plan, _slipped = plan_and_promise(uow, site_id, now, settings, actor="cli")
        uow.commit()
        return site_plan


def _sample(
    site_id: str, network_file: Path | None, catalog_file: Path | None, count: int, seed: int, now: datetime
) -> tuple[Site, list[WorkOrderInput]]:
    from microfactory.catalog.load import CatalogError, load_catalog
    from microfactory.errors import NotFound
    from microfactory.network.document import NetworkError, load_network
    from microfactory.scheduling.sample_orders import sample_work_orders
    from microfactory.scheduling.service import UnknownSite
    from microfactory.simulation.example_files import example_files

    try:
        network = load_network(network_file or example_files().network)
        catalog = load_catalog(catalog_file or example_files().catalog)
    except (NetworkError, CatalogError, OSError, NotFound) as error:
        errors.print(f"[red]cannot load the network or catalog[/red]: {error}")
        raise typer.Exit(2) from error
    site = network.site(site_id)
    if site is None or site.is_central:
        known = ", ".join(s.id for s in network.local_sites)
        raise UnknownSite(site_id, f"no local site {site_id!r} (sites: {known})")
    return site, sample_work_orders(catalog, count, seed, now, site)


@app.command("site")
def site_command(
    site: str = typer.Argument(..., help="site ID from the network"),
    sample: int = SampleOption,
    network_file: Path | None = NetworkOption,
    catalog_file: Path | None = CatalogOption,
    seed: int = typer.Option(7, help="random seed of the sample orders"),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.0),
    as_json: bool = typer.Option(False, "--json", help="print the plan as JSON"),
    limit: int = typer.Option(60, "--rows", help="rows of the table to show"),
    release: bool = typer.Option(
        False, "--release", help="keep the plan and release its operations to the site's agent"
    ),
) -> None:
    """Plan a site's work orders (those routed to it, not started) and print the plan as a table."""
    from microfactory.scheduling.export import demo_section, plan_json, plan_table

    site_plan = _site_plan(site, network_file, catalog_file, sample, seed, time_limit, release)
    if as_json:
        print(json.dumps(plan_json(site_plan)))
        return
    console.print(plan_table(site_plan, limit))
    demo_section([site_plan], console)


def _writable_folder(out: Path) -> None:
    """Make the folder and try a file in it before solving: a plan that cannot be saved is time lost."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".write-check-"):
            pass
    except OSError as error:
        errors.print(f"[red]cannot write to {out}[/red]: {error.strerror or error}")
        raise typer.Exit(2) from error


@app.command("export")
def export_command(
    site: str = typer.Argument(..., help="site ID from the network"),
    out: Path = typer.Option(Path("plans"), "--out", help="folder for <site>-plan.json and <site>-gantt.png"),
    sample: int = SampleOption,
    network_file: Path | None = NetworkOption,
    catalog_file: Path | None = CatalogOption,
    seed: int = typer.Option(7),
    time_limit: float = typer.Option(10.0, "--time-limit", min=0.0),
) -> None:
    """Plan a site and export the plan as JSON and as a Gantt chart (PNG)."""
    from microfactory.scheduling.export import export_paths, gantt_png, plan_json

    export_paths(out, site)  # refuse an unsafe site id before planning
    _writable_folder(out)
    site_plan = _site_plan(site, network_file, catalog_file, sample, seed, time_limit)
    json_path, png_path = export_paths(out, site_plan.site)
    json_path.write_text(json.dumps(plan_json(site_plan), indent=2), encoding="utf-8")
    png_path = gantt_png(site_plan, png_path)
    console.print(f"wrote {json_path} and {png_path}")
