"""`microfactory shipments ...`: pack an order, follow its parcels, print a label, retry a handoff, poll tracking.

Packing queues each parcel's handoff (the outbox kind `logistics.handoff`): the API process sends it
within seconds, or `microfactory outbox dispatch --kind logistics.handoff` does; `--now` here sends
it at once.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from microfactory.cli.context import console, container, errors, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.cli.listing import JSON, LIMIT, OFFSET, print_json, print_page, table
from microfactory.logistics import manual_entry, packing, service
from microfactory.logistics.polling import poll_due
from microfactory.logistics.views import event_view, handoff_message, shipment_view
from microfactory.outbox.dispatcher import Handlers, dispatch_due

app = command_group("Parcels: pack, list, show, label, retry, track.")


@app.command()
def pack(
    order_id: str = typer.Argument(..., help="order id (ord_...)"),
    line: list[str] = typer.Option(
        [], "--line", help="only this order line (repeat); default: every ready site"
    ),
    override_reason: str | None = typer.Option(
        None, "--override-reason", help="pack work quality holds, and why"
    ),
    now: bool = typer.Option(False, "--now", help="hand the parcels off at once (buy the labels)"),
    as_json: bool = JSON,
) -> None:
    """Pack made lines into parcels, one per site (exit 4 when nothing can be packed, naming why)."""
    with unit_of_work() as uow, uow.write_turn():
        done = packing.pack(
            uow, order_id, line_ids=line or None, override_reason=override_reason, actor="operator"
        )
        ids = [row.id for row in done.shipments]
        uow.commit()
    if now:
        _hand_off(ids)
    with unit_of_work() as uow:
        views = [shipment_view(service.get_shipment(uow, shipment_id)) for shipment_id in ids]
    if as_json:
        print_json({"shipments": views, "waiting": done.waiting})
        return
    for view in views:
        console.print(
            f"{view['id']}: {view['status']} at {view['site']} -> {view['partner']}, {view['mass_kg']} kg"
        )
    for reason in done.waiting:
        errors.print(f"[yellow]waiting: {reason}[/yellow]")


def _hand_off(shipment_ids: list[str]) -> None:
    handlers = Handlers({packing.HANDOFF_KIND: container().handoff().handler()})
    report = dispatch_due(
        container().session_factory, handlers, kinds=[packing.HANDOFF_KIND], ignore_backoff=True
    )
    for outcome in report.outcomes:
        if outcome.message.key in shipment_ids and outcome.error:
            errors.print(f"[yellow]{outcome.message.key}: {outcome.status}: {outcome.error}[/yellow]")


@app.command("list")
def list_shipments(
    status: str | None = typer.Option(None, "--status", help="only parcels in this status"),
    site: str | None = typer.Option(None, "--site", help="only this site's parcels"),
    order_id: str | None = typer.Option(None, "--order", help="only this order's parcels"),
    limit: int = LIMIT,
    offset: int = OFFSET,
    as_json: bool = JSON,
) -> None:
    """Parcels oldest first, with their partner, tracking number and last error."""
    with unit_of_work() as uow:
        page = service.list_shipments(
            uow, status=status, site=site, order_id=order_id, limit=limit, offset=offset
        )
        if as_json:
            print_json(page.as_dict(shipment_view))
            return
        rows = [
            [
                row.id,
                row.order_id,
                row.site,
                row.partner,
                row.status,
                row.tracking_number or "",
                (row.last_error or "")[:60],
            ]
            for row in page.items
        ]
    columns = ("id", "order", "site", "partner", "status", "tracking", "last error")
    print_page(page, table("shipments", columns, rows, ids=("id", "order", "tracking")))


@app.command()
def show(shipment_id: str = typer.Argument(..., help="shipment id (shp_...)"), as_json: bool = JSON) -> None:
    """One parcel: lines and units, rate, label, pickup, promised and real delivery, tracking events."""
    with unit_of_work() as uow:
        row = service.get_shipment(uow, shipment_id)
        view = shipment_view(row, handoff_message(uow.session, row.id))
        view["events"] = [event_view(event) for event in service.events(uow, row.id)]
    if as_json:
        print_json(view)
        return
    for key in (
        "id",
        "order_id",
        "site",
        "partner",
        "carrier",
        "status",
        "tracking_number",
        "units",
        "mass_kg",
        "rate",
        "pickup_id",
        "promised_delivery_at",
        "delivered_at",
        "late_hours",
        "last_error",
        "handoff",
    ):
        console.print(f"[bold]{key}[/bold]: {'-' if view[key] is None else view[key]}")
    for event in view["events"]:
        console.print(f"  {event['at']}  {event['state']:<18} {event['source']:<8} {event['message']}")


@app.command()
def label(
    shipment_id: str = typer.Argument(..., help="shipment id (shp_...)"),
    out: Path = typer.Option(..., "--out", dir_okay=False, help="where to write the PDF"),
) -> None:
    """Write the parcel's label PDF for printing (exit 4 while it is not bought yet)."""
    with unit_of_work() as uow:
        pdf = service.label(uow, shipment_id)
    out.write_bytes(pdf)
    console.print(f"{out} ({len(pdf)} bytes)")


@app.command()
def retry(shipment_id: str = typer.Argument(..., help="shipment id (shp_...)")) -> None:
    """Send the parcel's handoff again (buying again is safe: the label's key is the parcel's id)."""
    with unit_of_work() as uow, uow.write_turn():
        message = service.retry(uow, shipment_id)
        shown = f"{shipment_id}: handoff {message.id} is {message.status} again"
        uow.commit()
    console.print(shown)


@app.command("record-tracking")
def record_tracking(
    shipment_id: str = typer.Argument(..., help="shipment id (shp_...)"),
    number: str = typer.Argument(..., help="the tracking number the courier gave"),
    carrier: str | None = typer.Option(None, "--carrier", help="the carrier's name, for the store"),
    url: str | None = typer.Option(None, "--url", help="the carrier's tracking page"),
) -> None:
    """Enter a hand-booked parcel's tracking number: its lines ship and the store is told (exit 4 if it has another)."""
    with unit_of_work() as uow, uow.write_turn():
        row = manual_entry.record_tracking(uow, shipment_id, number, carrier=carrier, url=url)
        shown = f"{row.id}: {row.status}, tracking {row.tracking_number}"
        uow.commit()
    console.print(shown)


@app.command()
def track(
    stale_minutes: float = typer.Option(
        60.0, "--stale-minutes", min=0, help="poll parcels not heard of for this long"
    ),
) -> None:
    """Ask the carriers about parcels on their way (what the API process's poller does)."""
    report = poll_due(container().handoff(), timedelta(minutes=stale_minutes))
    console.print(f"{report.asked} parcels asked, {report.moved} moved")
    for error in report.errors:
        errors.print(f"[yellow]{error}[/yellow]")
