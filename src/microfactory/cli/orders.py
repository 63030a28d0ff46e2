"""`microfactory orders ...`: import ERP files, list and show orders, what needs attention."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from microfactory.catalog.service import active_catalogs
from microfactory.channels import erp
from microfactory.cli.context import console, errors, fail, unit_of_work
from microfactory.orders import service
from microfactory.orders.views import order_view
from microfactory.text_files import read_text

app = typer.Typer(help="Orders: import from an ERP, list, show, needs attention.", no_args_is_help=True)


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV or JSON file"),
    file_format: str = typer.Option("", "--format", help="csv or json (default: from the file name)"),
) -> None:
    """Import orders from an ERP export; exit 2 with every problem if the file is not an order file."""
    kind = file_format or ("json" if file.suffix.lower() == ".json" else "csv")
    with unit_of_work() as uow:
        try:
            text = read_text(file, "order", erp.OrderFileError, encoding="utf-8-sig")
            orders = erp.parse(text, kind, active_catalogs(uow))
        except erp.OrderFileError as error:
            raise fail(error) from error
        results = erp.import_orders(uow, orders)
        rows = [(r.order.external_id, r.order.id, r.order.status, r.created) for r in results]
        uow.commit()
    table = Table(title=f"imported from {file.name}")
    for column in ("order", "id", "status", "new"):
        table.add_column(column)
    for external_id, order_id, status, created in rows:
        table.add_row(external_id, order_id, status, "yes" if created else "already there")
    console.print(table)


@app.command("list")
def list_orders(
    status: str | None = typer.Option(None, help="only orders in this status"),
    channel: str | None = typer.Option(None, help="only orders from this channel"),
    limit: int = typer.Option(50, help="at most this many"),
) -> None:
    """Orders, oldest first."""
    with unit_of_work() as uow:
        orders = service.list_orders(uow, status, channel, limit)
        table = Table(title="orders")
        for column in ("id", "channel", "external id", "name", "status", "lines"):
            table.add_column(column)
        for order in orders:
            table.add_row(
                order.id,
                order.channel,
                order.external_id,
                order.name or "",
                order.status,
                str(len(order.lines)),
            )
    console.print(table)


@app.command()
def show(order_id: str = typer.Argument(..., help="order id (ord_...)")) -> None:
    """One order with its lines, as JSON."""
    with unit_of_work() as uow:
        try:
            view = order_view(service.get_order(uow, order_id))
        except service.OrderNotFound as error:
            errors.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
    print(json.dumps(view, ensure_ascii=False, indent=2))


@app.command("needs-attention")
def needs_attention() -> None:
    """Every line waiting for a correction, with its problems."""
    with unit_of_work() as uow:
        lines = service.lines_needing_attention(uow)
        table = Table(title=f"{len(lines)} lines need attention")
        for column in ("order", "line", "sku", "product", "qty", "problems"):
            table.add_column(column)
        for line in lines:
            problems = "; ".join(f"{p.get('path')}: {p.get('message')}" for p in line.problems)
            table.add_row(line.order_id, line.id, line.sku or "", line.product or "", str(line.qty), problems)
    console.print(table)
