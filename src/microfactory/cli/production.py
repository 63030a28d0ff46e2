"""`microfactory operations ...` and `microfactory units ...`: a site's released steps, manual
stations' reports, holds, and a unit's trace.

A person's start, finish or fail goes through the same use case as the agent's reports
(`production.stations.report_by_hand`), so a manual step counts exactly like a machine's.
"""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from microfactory.cli.context import console, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.cli.listing import JSON, print_json, table
from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.production import stations
from microfactory.production.model import Event, OperationStatus
from microfactory.production.trace import unit_trace
from microfactory.production.views import operation_view, site_operations

operations_app = command_group("A site's operations: list them, report a manual step, hold one.")
units_app = command_group("Units made: their serials and traces.")
STATUSES = tuple(status.value for status in OperationStatus)
OPERATOR = typer.Option(None, "--operator", help="who did it (the trace names them)")
MACHINE = typer.Option(None, "--machine", help="the station used, if not the planned one")
LOT = typer.Option(
    None, "--lot", help="the lot of the material used (else the site's lot in the network, else unknown)"
)


@operations_app.command("list")
def list_operations(
    site: str = typer.Option(..., "--site", help="site ID from the network"),
    status: list[str] = typer.Option([], "--status", help="only these statuses (repeat for several)"),
    as_json: bool = JSON,
) -> None:
    """The site's operations of its current plan, by planned start, and whether each is ready."""
    unknown = [value for value in status if value not in STATUSES]
    if unknown:
        raise Invalid(
            "unknown operation status",
            [Problem("--status", f"{value!r} is not one of {', '.join(STATUSES)}") for value in unknown],
        )
    with unit_of_work() as uow:
        views = site_operations(uow, site, status or None)
    if as_json:
        print_json(views)
        return
    columns = ("id", "work order", "op", "machine", "start", "status", "ready")
    rows = [
        [
            v["id"],
            v["work_order_id"],
            v["op"],
            v["machine"],
            v["start"][:16],
            v["status"],
            "yes" if v["ready"] else "",
        ]
        for v in views
    ]
    console.print(table(f"operations at {site}", columns, rows, ids=("id", "work order")))


def _report(
    operation_id: str, event: Event, operator: str | None, machine: str | None, lot: str | None = None
) -> None:
    if lot is not None and not lot.strip():
        raise Invalid("empty lot", [Problem("--lot", "name the lot, or leave --lot out")])
    with unit_of_work() as uow, uow.write_turn():
        stations.report_by_hand(
            uow,
            operation_id,
            event,
            datetime.now(UTC),
            operator,
            machine,
            actor="cli",
            material_lot=lot.strip() if lot else None,
        )
        uow.commit()
        row = stations.get_operation(uow, operation_id)
        shown = operation_view(row)
    console.print(f"{operation_id}  {shown['op']}  {shown['status']} on {shown['machine']}", highlight=False)


@operations_app.command("start")
def start(
    operation_id: str = typer.Argument(...),
    operator: str | None = OPERATOR,
    machine: str | None = MACHINE,
    lot: str | None = LOT,
) -> None:
    """A person starts a step at a manual station (exit 4 if it cannot start now, with the reason)."""
    _report(operation_id, Event.STARTED, operator, machine, lot)


@operations_app.command("finish")
def finish(
    operation_id: str = typer.Argument(...), operator: str | None = OPERATOR, lot: str | None = LOT
) -> None:
    """A person finishes a running step; the last step of a work order makes it and numbers its units."""
    _report(operation_id, Event.FINISHED, operator, None, lot)


@operations_app.command("fail")
def fail(operation_id: str = typer.Argument(...), operator: str | None = OPERATOR) -> None:
    """A running step failed; it may be started again."""
    _report(operation_id, Event.FAILED, operator, None)


@operations_app.command("hold")
def hold(operation_id: str = typer.Argument(...), reason: str = typer.Option(..., "--reason")) -> None:
    """Hold a step that is not running (quality, a machine to check); the agent leaves it alone."""
    with unit_of_work() as uow, uow.write_turn():
        stations.hold(uow, operation_id, reason)
        uow.commit()
    console.print(f"{operation_id} held: {reason}", highlight=False)


@operations_app.command("unhold")
def unhold(operation_id: str = typer.Argument(...)) -> None:
    """Give a held step back to its site."""
    with unit_of_work() as uow, uow.write_turn():
        stations.release_hold(uow, operation_id)
        uow.commit()
    console.print(f"{operation_id} released", highlight=False)


@units_app.command("show")
def show_unit(
    serial: str = typer.Argument(..., help="the unit's serial (MF-...)"), as_json: bool = JSON
) -> None:
    """A unit's trace: order, work order, site, machines, operators, materials, inspections, parcel."""
    with unit_of_work() as uow:
        trace = unit_trace(uow, serial)
    if as_json:
        print_json(trace)
        return
    console.print(
        f"{trace['serial']}  {trace['product']} ({trace['seq']} of {trace['of']})  made {trace['made_at']}"
        f" at {trace['site']}\norder {trace['order_id']}  line {trace['line_id']}  work order {trace['work_order_id']}"
        f"\nmachines {', '.join(trace['machines'])}  operators {', '.join(trace['operators']) or '-'}",
        highlight=False,
    )
    rows = [
        [
            op["id"],
            op["op"],
            op["machine"],
            op["operator"] or "",
            op["started_at"] or "",
            op["finished_at"] or "",
        ]
        for op in trace["operations"]
    ]
    columns = ("operation", "op", "machine", "operator", "started", "finished")
    console.print(table(f"how {serial} was made", columns, rows, ids=("operation",)))
    materials = [
        f"{m['part'] or '-'}: {m['material']} lot {m['lot'] or 'unknown'}" for m in trace["materials"]
    ]
    if materials:
        console.print("materials  " + "; ".join(materials), highlight=False)
