"""`microfactory shopify ...`: reconcile, process the webhook inbox, fulfillment service, back-sync."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.progress import Progress
from rich.table import Table

from microfactory.channels.shopify import fulfillment_service, fulfilment_sync
from microfactory.channels.shopify.admin import ShopifyAdmin
from microfactory.channels.shopify.inbox import process_pending
from microfactory.channels.shopify.inbox_status import inbox_status
from microfactory.channels.shopify.reconcile import reconcile as reconcile_orders
from microfactory.cli.context import console, container, errors, unit_of_work
from microfactory.cli.errors import command_group

app = command_group("The Shopify channel: inbox, reconciliation, fulfillment service.")


def _admin() -> ShopifyAdmin:
    """The configured shop's Admin API; `MissingSetting` (exit 2) names what is not set."""
    return container().require_shopify_admin()


def _since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD or ISO 8601)", param_hint="--since"
        ) from error
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@app.command()
def reconcile(
    since: str = typer.Option(..., "--since", help="take in orders updated since DATE (UTC)"),
) -> None:
    """Page through the Admin API's orders and take in any that webhooks missed (safe to repeat)."""
    start = _since(since)
    with _admin() as admin, Progress(console=console, transient=True) as progress:
        task = progress.add_task("orders from Shopify", total=None)
        report = reconcile_orders(container().session_factory, admin, start, lambda: progress.advance(task))
    actions = ", ".join(f"{count} {action}" for action, count in sorted(report.actions.items())) or "nothing"
    console.print(f"{report.seen} orders seen since {start.isoformat()}: {actions}")
    for refused in report.refused:
        errors.print(f"  [yellow]refused[/yellow] {refused}")


@app.command("process-inbox")
def process_inbox(
    limit: int = typer.Option(10_000, help="process at most this many deliveries"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="try failed order deliveries again"),
) -> None:
    """Process stored webhook deliveries (what the server's worker does; use after a crash or in cron)."""
    with unit_of_work() as uow:
        waiting = min(limit, inbox_status(uow, failed_limit=0).pending)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("deliveries", total=waiting or None)
            report = process_pending(
                uow, limit=limit, retry_failed=retry_failed, between=lambda: progress.advance(task)
            )
    actions = ", ".join(f"{count} {action}" for action, count in sorted(report.actions.items()))
    console.print(
        f"{report.processed} processed ({actions or 'no changes'}), {report.duplicates} duplicate, "
        f"{report.failed} failed, {report.retried} to retry"
    )
    if report.failed:
        raise typer.Exit(1)


@app.command()
def inbox(failed: int = typer.Option(10, help="show this many of the newest failures")) -> None:
    """What the webhook inbox holds: deliveries by status, the backlog, and why deliveries failed."""
    with unit_of_work() as uow:
        status = inbox_status(uow, failed)
    console.print(", ".join(f"{count} {name}" for name, count in status.counts.items()))
    if status.oldest_pending is not None:
        console.print(f"{status.pending} waiting since {status.oldest_pending.isoformat()}")
    if status.failed:
        table = Table(
            "webhook id", "topic", "order", "received", "error", title="failed deliveries, newest first"
        )
        for row in status.failed:
            cells = (
                row["webhook_id"],
                row["topic"],
                row["order_external_id"],
                row["received_at"],
                row["error"],
            )
            table.add_row(*(cell or "" for cell in cells))
        console.print(table)


@app.command("register-fulfillment-service")
def register_fulfillment_service(
    callback_url: str = typer.Option(..., "--callback-url", help="public https URL prefix of this server"),
    name: str = typer.Option("microfactory", help="the name (and location) merchants see"),
) -> None:
    """Register microfactory as a fulfillment service (a location) of the configured shop."""
    with _admin() as admin:
        service = fulfillment_service.register(admin, callback_url.rstrip("/") + "/shopify", name)
    location = (service.get("location") or {}).get("id")
    console.print(f"registered {service.get('serviceName')} ({service.get('id')}), location {location}")


@app.command("sync-fulfilments")
def sync_fulfilments(limit: int = typer.Option(200, help="at most this many shipments")) -> None:
    """Create Shopify fulfillments (tracking number, company, URL) for shipments handed off.

    Dispatches the outbox's `shopify.fulfilment` messages now, those waiting for a backoff too.
    """
    with _admin() as admin, Progress(console=console, transient=True) as progress:
        task = progress.add_task("shipments to Shopify", total=None)
        report = fulfilment_sync.sync_pending(
            container().session_factory,
            admin,
            limit,
            lambda done, total: progress.update(task, completed=done, total=total),
        )
    console.print(
        f"{report.sent} fulfilled, {report.already_there} already in Shopify, "
        f"{report.pending} to retry, {report.failed} failed"
    )
    for error in report.errors:
        errors.print(f"  [yellow]{error}[/yellow]")
    if report.failed:
        raise typer.Exit(1)


def _shipment_line(value: str) -> fulfilment_sync.ShipmentLine:
    """`LINE_ID:QTY` as a shipment line; anything else is a usage error naming the value."""
    line_id, _, qty = value.rpartition(":")
    try:
        number = int(qty)
    except ValueError:
        number = None
    if not line_id.strip() or number is None:
        raise typer.BadParameter(f"{value!r} is not LINE_ID:QTY (e.g. line_3f2a...:2)", param_hint="--line")
    return fulfilment_sync.ShipmentLine(line_id.strip(), number)


@app.command()
def ship(
    order_id: str = typer.Argument(..., help="order id (ord_...)"),
    tracking: str = typer.Option(..., "--tracking", help="the parcel's tracking number"),
    company: str | None = typer.Option(None, "--company", help="carrier, as Shopify spells it"),
    url: str | None = typer.Option(None, "--url", help="tracking URL"),
    line: list[str] | None = typer.Option(
        None, "--line", help="LINE_ID:QTY the parcel holds (repeat); none: everything still open"
    ),
    key: str | None = typer.Option(None, "--key", help="idempotency key (default: order and tracking)"),
    override_reason: str | None = typer.Option(
        None, "--override-reason", help="ship work that is not made yet, and why (audited)"
    ),
) -> None:
    """Say a parcel of a Shopify order shipped; `sync-fulfilments` then tells Shopify (safe to repeat).

    The request is checked as the API checks it (`shipment_request.check_shipment`); the parcel's
    lines move to shipped, and work that is not made needs `--override-reason`.
    """
    lines = [_shipment_line(value) for value in line] if line else None
    with unit_of_work() as uow:
        row, created = fulfilment_sync.queue_shipment(
            uow, order_id, tracking, company, url, key, lines, override_reason=override_reason, actor="cli"
        )
        view = fulfilment_sync.shipment_view(row)
        uow.commit()
    state = "queued" if created else "already queued"
    errors.print(
        f"{state}: {view['id']} ({view['status']}); `microfactory shopify sync-fulfilments` sends it"
    )
    print(json.dumps(view, ensure_ascii=False, indent=2))
