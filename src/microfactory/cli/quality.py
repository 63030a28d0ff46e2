"""`microfactory quality ...`: a person's verdicts, NCRs and their dispositions, SPC, machine holds.

The same use cases as the API (`quality.recording`, `quality.dispositions`, `quality.spc_runs`,
`quality.spc_service`); the actor is `cli`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from microfactory.cli.context import console, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.cli.listing import JSON, LIMIT, OFFSET, print_json, table
from microfactory.quality import dispositions, recording, spc_service
from microfactory.quality.charts import chart_png
from microfactory.quality.inspectors import Verdict
from microfactory.quality.spc_runs import run_spc
from microfactory.quality.views import hold_view, ncr_view

app = command_group("Quality: verdicts, non-conformance reports, SPC charts and machine holds.")
ncr_app = command_group("Non-conformance reports: list, show, dispose.")
holds_app = command_group("Machines on hold for new jobs: list, release.")
app.add_typer(ncr_app, name="ncr")
app.add_typer(holds_app, name="holds")
ACTOR = "cli"


def _now() -> datetime:
    return datetime.now(UTC)


@app.command("verdict")
def verdict(
    serial: str = typer.Argument(..., help="the unit's serial"),
    judged: Verdict = typer.Argument(..., help="pass or fail"),
    note: str | None = typer.Option(None, "--note", help="what is wrong (a fail needs one)"),
    station: str | None = typer.Option(None, "--station"),
    as_json: bool = JSON,
) -> None:
    """A person's verdict on a unit; a fail opens an NCR and holds its work order."""
    with unit_of_work() as uow, uow.write_turn():
        view = recording.record_manual(
            uow, serial, judged, note=note, station=station, actor=ACTOR, now=_now()
        )
        uow.commit()
    if as_json:
        print_json(view)
        return
    ncr = f"  NCR {view['ncr_id']}" if view["ncr_id"] else ""
    console.print(
        f"{serial}: {view['verdict']}; work order {view['work_order_status']}{ncr}", highlight=False
    )


@app.command("inspections")
def inspections(serial: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """A unit's inspections, oldest first."""
    with unit_of_work() as uow:
        views = recording.unit_inspections(uow, serial)
    if as_json:
        print_json(views)
        return
    rows = [
        [
            v["id"],
            v["at"][:19],
            v["verdict"],
            f"{v['score']:.3g}",
            ", ".join(c["inspector"] for c in v["checks"]),
            v["actor"],
        ]
        for v in views
    ]
    console.print(
        table(f"inspections of {serial}", ("id", "at", "verdict", "score", "checks", "by"), rows, ids=("id",))
    )


@ncr_app.command("list")
def list_ncrs(
    status: str | None = typer.Option(None, "--status", help="open or disposed"),
    site: str | None = typer.Option(None, "--site"),
    limit: int = LIMIT,
    offset: int = OFFSET,
    as_json: bool = JSON,
) -> None:
    """Non-conformance reports, oldest first."""
    with unit_of_work() as uow:
        views = [ncr_view(row) for row in dispositions.list_ncrs(uow, status, site, limit, offset)]
    if as_json:
        print_json(views)
        return
    rows = [
        [v["id"], v["serial"], v["site"], v["status"], v["disposition"] or "", v["summary"][:60]]
        for v in views
    ]
    columns = ("id", "serial", "site", "status", "disposition", "summary")
    console.print(table("non-conformance reports", columns, rows, ids=("id", "serial")))


@ncr_app.command("show")
def show_ncr(ncr_id: str = typer.Argument(...), as_json: bool = JSON) -> None:
    """One NCR with the inspection that opened it."""
    with unit_of_work() as uow:
        detail = dispositions.ncr_detail(uow, dispositions.get_ncr(uow, ncr_id))
    if as_json:
        print_json(detail)
        return
    console.print(
        f"{detail['id']}  unit {detail['serial']}  {detail['status']}"
        f"{'  ' + detail['disposition'] if detail['disposition'] else ''}\n{detail['summary']}\n"
        f"work order {detail['work_order_id']} is {detail['work_order_status']}; "
        f"steps: {', '.join(detail['steps_available'])}",
        highlight=False,
    )


@ncr_app.command("dispose")
def dispose(
    ncr_id: str = typer.Argument(...),
    disposition: dispositions.Disposition = typer.Argument(..., help="use_as_is, rework, repair or scrap"),
    reason: str = typer.Option(..., "--reason", help="why (kept in the audit)"),
    step: list[str] = typer.Option(
        [], "--step", help="rework/repair: a step to make again (repeat; default all)"
    ),
    as_json: bool = JSON,
) -> None:
    """A person's decision on an NCR (exit 4 if someone decided first)."""
    with unit_of_work() as uow, uow.write_turn():
        ncr = dispositions.dispose(uow, ncr_id, disposition, reason, ACTOR, _now(), step or None)
        detail = dispositions.ncr_detail(uow, ncr)
        uow.commit()
    if as_json:
        print_json(detail)
        return
    console.print(
        f"{ncr_id}: {disposition.value}; work order {detail['work_order_id']} is {detail['work_order_status']}",
        highlight=False,
    )


@app.command("spc")
def spc(
    machine: str | None = typer.Option(None, "--machine"),
    site: str | None = typer.Option(None, "--site"),
    product: str | None = typer.Option(None, "--product"),
    metric: str | None = typer.Option(None, "--metric", help="a telemetry metric of the machine"),
    size: int = typer.Option(1, "--size", help="1: individuals chart; 2..10: X-bar/R subgroups"),
    chart: Path | None = typer.Option(None, "--chart", help="write the (last) chart as PNG here"),
    hold: bool = typer.Option(True, "--hold/--no-hold", help="put a machine out of control on hold"),
    as_json: bool = JSON,
) -> None:
    """Control charts of a machine, site or product, their Western Electric signals, and holds."""
    with unit_of_work() as uow, uow.write_turn():
        run = run_spc(
            uow, _now(), machine=machine, site=site, product=product, metric=metric, size=size, hold=hold
        )
        uow.commit()
    if chart is not None:
        chart.write_bytes(chart_png(run.charts[-1]))
    if as_json:
        print_json(run.as_dict())
        return
    for drawn in run.charts:
        signals = drawn.signals()
        console.print(f"{drawn.subject}: {len(drawn.points)} points, {len(signals)} signals", highlight=False)
        for signal in signals:
            console.print(f"  {signal.explanation}", highlight=False)
    for held in run.holds:
        console.print(
            f"machine {held['machine']} is on hold for new jobs: {held['explanation']}", highlight=False
        )
    if chart is not None:
        console.print(f"chart written to {chart}", highlight=False)


@holds_app.command("list")
def list_holds(
    everything: bool = typer.Option(False, "--all", help="released holds too"),
    site: str | None = typer.Option(None, "--site"),
    as_json: bool = JSON,
) -> None:
    """Machines on hold for new jobs, with the signal that put them there."""
    with unit_of_work() as uow:
        views = [hold_view(row) for row in spc_service.list_holds(uow, everything=everything, site=site)]
    if as_json:
        print_json(views)
        return
    rows = [
        [v["machine"], v["site"], v["held_at"][:19], v["released_at"] or "", v["explanation"]] for v in views
    ]
    console.print(
        table("machine holds", ("machine", "site", "held", "released", "why"), rows, ids=("machine",))
    )


@holds_app.command("release")
def release(
    machine: str = typer.Argument(...),
    reason: str = typer.Option(..., "--reason", help="what was done about the signal"),
    site: str | None = typer.Option(None, "--site"),
) -> None:
    """Give a held machine back to new jobs (exit 4 if it is not on hold)."""
    with unit_of_work() as uow, uow.write_turn():
        spc_service.release_hold(uow, machine, reason, ACTOR, _now(), site)
        uow.commit()
    console.print(f"machine {machine} released: {reason}", highlight=False)
