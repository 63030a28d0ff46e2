"""`microfactory network ...`: load and inspect the network, route work orders, explain a choice."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from microfactory.cli.context import console, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.errors import NotFound
from microfactory.network import service, site_events
from microfactory.network.demand import RoutingWeights
from microfactory.network.document import build_network, read_network_file
from microfactory.network.model import Network
from microfactory.network.stored_state import current
from microfactory.network.views import load_view, outcome_view, routing_view, site_assignments, site_view

app = command_group("The microfactory network: sites, machines, stock; routing and promises.")

FileArg = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="network YAML file")


def _read(path: Path) -> tuple[dict[str, Any], Network]:
    document = read_network_file(path)
    return document, build_network(document)


def _summary(network: Network) -> Table:
    table = Table(title=f"network {network.name}")
    for column in ("site", "name", "kind", "machines", "capabilities", "partner"):
        table.add_column(column)
    for sid, site in network.sites.items():
        table.add_row(
            sid,
            site.name,
            site.kind,
            str(len(site.machines)),
            ", ".join(sorted(site.all_capabilities())),
            site.fulfilment_partner,
        )
    return table


@app.command()
def validate(file: Path = FileArg) -> None:
    """Check a network file; exit 2 and list every problem by place if it is not valid."""
    _, network = _read(file)
    console.print(_summary(network))
    console.print(f"[green]valid[/green]: {len(network.sites)} sites, {len(network.partners)} partners")


@app.command()
def load(file: Path = FileArg) -> None:
    """Validate and store a network; it becomes the one work orders are routed over."""
    document, _ = _read(file)
    with unit_of_work() as uow:
        result = service.load_network(uow, document, actor="cli")
        uow.commit()
    state = f"loaded as version {result.version}" if result.created else "already loaded (unchanged)"
    console.print(_summary(result.network))
    console.print(f"network {result.network.name} {state}")
    for label, sites in (("sites added", result.added_sites), ("sites removed", result.removed_sites)):
        if sites:
            console.print(f"{label}: {', '.join(sites)}")
    if result.created and result.version > 1:
        moved = sum(len(outcome.work_order_ids) for outcome in result.rerouted)
        console.print(f"{moved} work orders re-routed")


@app.command()
def sites() -> None:
    """Every site with its state: open, machines down, load of the busiest capability."""
    with unit_of_work() as uow:
        ctx = current(uow)
        table = Table(title=f"network {ctx.network.name}")
        for column in ("site", "kind", "open", "machines down", "open work", "busiest (weeks)"):
            table.add_column(column)
        for site in ctx.network.sites.values():
            view = site_view(ctx, site, uow)
            down = [m["id"] for m in view.get("machines", []) if not m["up"]]
            busiest = view.get("load", {}).get("bottleneck_weeks", 0.0)
            table.add_row(
                site.id,
                site.kind,
                "yes" if view["open"] else "[red]closed[/red]",
                ", ".join(down) or "-",
                str(len(site_assignments(uow, ctx, site.id))),
                f"{busiest:.2f}",
            )
    console.print(table)


@app.command("load-report")
def load_report(site: str = typer.Argument(..., help="site id")) -> None:
    """A site's load: minutes queued per capability, machines up, weeks of work; and its open work."""
    with unit_of_work() as uow:
        ctx = current(uow)
        found = ctx.network.site(site)
        if found is None:
            raise NotFound("site", site, f"no site {site} in network {ctx.network.name}")
        load_data = load_view(ctx, found)
        work = site_assignments(uow, ctx, found.id)
    table = Table(title=f"{found.id}: load ({len(work)} work orders open)")
    for column in ("capability", "queued minutes", "machines up", "weeks of work"):
        table.add_column(column, justify="left" if column == "capability" else "right")
    for capability, row in load_data["by_capability"].items():
        weeks = row["weeks_of_work"]
        table.add_row(
            capability,
            f"{row['queued_minutes']:,.0f}",
            str(row["machines_up"]),
            "-" if weeks is None else f"{weeks:.2f}",
        )
    console.print(table)
    statuses = Counter(a["status"] for a in work)
    console.print(", ".join(f"{count} {status}" for status, count in statuses.items()) or "no open work")


def _weights(
    distance: float | None, load: float | None, cost: float | None, promise: float | None
) -> RoutingWeights | None:
    if all(v is None for v in (distance, load, cost, promise)):
        return None
    return _override(RoutingWeights(), distance, load, cost, promise)


def _override(
    base: RoutingWeights,
    distance: float | None,
    load: float | None,
    cost: float | None,
    promise: float | None,
) -> RoutingWeights:
    """The weights given on top of `base`; `Invalid` names each weight that is not finite and >= 0."""
    return RoutingWeights(
        base.distance if distance is None else distance,
        base.load if load is None else load,
        base.cost if cost is None else cost,
        base.promise if promise is None else promise,
    )


@app.command()
def route(
    work_orders: list[str] = typer.Argument(None, help="work order ids (or --all)"),
    all_released: bool = typer.Option(False, "--all", help="route every released work order"),
    distance: float | None = typer.Option(None, min=0, help="weight of distance (this run only)"),
    load_weight: float | None = typer.Option(None, "--load", min=0, help="weight of load"),
    cost: float | None = typer.Option(None, min=0, help="weight of cost"),
    promise: float | None = typer.Option(None, min=0, help="weight of the promised date"),
) -> None:
    """Route work orders to sites, offer them, reserve their parts, and print where each went."""
    if not work_orders and not all_released:
        raise typer.BadParameter("name work orders or pass --all")
    weights = _weights(distance, load_weight, cost, promise)
    with unit_of_work() as uow:
        if all_released:
            pending = uow.session.scalar(
                select(func.count()).select_from(WorkOrderRow).where(WorkOrderRow.status == "released")
            )
            outcomes = service.expire_overdue(uow)
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("routing", total=pending or 0)
                outcomes += service.route_work_orders(
                    uow, weights=weights, progress=lambda n: progress.advance(task, n)
                )
        else:
            outcomes = service.route_work_orders(uow, work_orders, weights=weights)
        views = [outcome_view(o) for o in outcomes]
        uow.commit()
    table = Table(title=f"{len(views)} routing decisions")
    for column in ("work orders", "site", "deciding factor", "ship", "delivery"):
        table.add_column(column)
    for view in views[:50]:
        first = view["assignments"][0] if view["assignments"] else {}
        table.add_row(
            ", ".join(view["work_order_ids"]),
            view["site"] or "[red]none[/red]",
            view["deciding_factor"] or "",
            first.get("promised_ship_date") or "-",
            first.get("promised_delivery_date") or "-",
        )
    console.print(table)
    per_site = Counter(view["site"] or "none" for view in views)
    console.print(", ".join(f"{site}: {count}" for site, count in per_site.most_common()))


@app.command()
def explain(
    work_order: str = typer.Argument(..., help="work order id"),
    as_json: bool = typer.Option(False, "--json", help="print the explanation as JSON"),
) -> None:
    """Why a work order went where it did: every candidate, its score, and why it lost."""
    with unit_of_work() as uow:
        view = routing_view(uow, work_order)
    if as_json:
        print(json.dumps(view, ensure_ascii=False, default=str))
        return
    explanation = view["explanation"]
    console.print(f"[bold]{work_order}[/bold] -> {view['site'] or 'no site'} ({view['status']})")
    console.print(explanation["summary"])
    console.print(
        f"deciding factor: [bold]{explanation['deciding_factor']}[/bold]; ship {view['promised_ship_date']}, "
        f"delivery {view['promised_delivery_date']}{' [red](slipped)[/red]' if view['slipped'] else ''}"
    )
    if explanation.get("distance_approximate"):
        destination = explanation.get("destination") or {}
        console.print(f"[yellow]distance is approximate[/yellow]: {destination.get('source', 'no location')}")
    table = Table(title="candidates")
    for column in ("site", "score", "distance km", "load", "cost", "ship days", "result"):
        table.add_column(column)
    for candidate in explanation["candidates"]:
        score = candidate["score"]
        table.add_row(
            candidate["site"],
            "-" if score is None else f"{score:.3f}",
            "-" if candidate["distance_km"] is None else f"{candidate['distance_km']:,.0f}",
            f"{candidate['load']:.2f}",
            f"{candidate['cost']:.2f}",
            f"{candidate['ship_days']:.1f}",
            candidate["result"],
        )
    console.print(table)


@app.command()
def weights(
    distance: float | None = typer.Option(None, min=0),
    load_weight: float | None = typer.Option(None, "--load", min=0),
    cost: float | None = typer.Option(None, min=0),
    promise: float | None = typer.Option(None, min=0),
) -> None:
    """Show the routing weights, or set those given (they apply to every later decision)."""
    with unit_of_work() as uow:
        ctx = current(uow)
        stored = ctx.router.weights
        if any(v is not None for v in (distance, load_weight, cost, promise)):
            stored = service.set_weights(uow, _override(stored, distance, load_weight, cost, promise))
            uow.commit()
    console.print(", ".join(f"{name} {value:g}" for name, value in stored.as_dict().items()))


@app.command()
def accept(assignment: str = typer.Argument(..., help="assignment id")) -> None:
    """Accept an offered assignment on a site's behalf."""
    with unit_of_work() as uow:
        row = service.accept(uow, assignment, actor="cli")
        uow.commit()
    console.print(f"{row.id}: {row.work_order_id} accepted by {row.site}")


@app.command()
def decline(
    assignment: str = typer.Argument(..., help="assignment id"),
    reason: str = typer.Option(..., "--reason", help="why the site cannot take it"),
) -> None:
    """Decline an assignment on a site's behalf: the work goes to the next best site."""
    with unit_of_work() as uow:
        outcomes = service.decline(uow, assignment, reason, actor="cli")
        uow.commit()
    for outcome in outcomes:
        console.print(
            f"{', '.join(outcome.work_order_ids)} -> {outcome.site}: {outcome.explanation['summary']}"
        )


def _day(text: str | None) -> date | None:
    """`--date` as a calendar day; a day that does not exist is named, not a traceback."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: use YYYY-MM-DD", param_hint="--date") from None


@app.command()
def event(
    kind: str = typer.Argument(..., help=" | ".join(site_events.EVENT_KINDS)),
    site: str = typer.Argument(..., help="site id"),
    machine: str | None = typer.Option(None, help="machine id (machine_down, machine_up)"),
    day: str | None = typer.Option(None, "--date", help="YYYY-MM-DD (site_closed, site_open: that day only)"),
    part: str | None = typer.Option(None, help="part id (stock_count)"),
    qty: float | None = typer.Option(None, min=0, help="parts counted (stock_count)"),
    reason: str = typer.Option("", help="why, for the audit trail"),
) -> None:
    """Tell the network what happened at a site; affected work is re-routed or re-promised."""
    if kind not in site_events.EVENT_KINDS:
        raise typer.BadParameter(f"kind must be one of {', '.join(site_events.EVENT_KINDS)}")
    happened = site_events.SiteEvent(
        kind,
        site,
        machine,
        _day(day),
        part,
        Decimal(str(qty)) if qty is not None else None,
        reason,
    )
    with unit_of_work() as uow:
        outcome = site_events.apply_event(uow, happened, actor="cli")
        uow.commit()
    moved = sum(len(o.work_order_ids) for o in outcome.rerouted)
    console.print(
        f"{kind} at {site}: {moved} work orders re-routed, {len(outcome.repromised)} re-promised, "
        f"{len(outcome.slipped)} promises slipped"
    )
