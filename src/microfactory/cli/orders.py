"""`microfactory orders ...`: import ERP files; list, show, cancel and trace orders; what needs attention.

Lists are oldest first and paged (`--limit`, `--offset`); every list takes `--json`.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from microfactory.catalog.service import active_catalogs
from microfactory.channels import erp
from microfactory.cli.context import console, errors, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.cli.listing import JSON, LIMIT, OFFSET, print_json, print_page, table
from microfactory.cli.option_pairs import parse_options
from microfactory.db.tables.orders import OrderLineRow, OrderRow
from microfactory.orders import listing, service
from microfactory.orders.views import (
    attention_view,
    history_view,
    line_view,
    order_notes,
    order_view,
    retry_view,
    warning_view,
)
from microfactory.text_files import read_text

app = command_group("Orders: import, list, show, history, cancel, correct lines, needs attention.")


@app.command("import")
def import_file(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="CSV or JSON file"),
    file_format: str = typer.Option("", "--format", help="csv or json (default: from the file name)"),
) -> None:
    """Import orders from an ERP export; exit 2 with every problem if the file is not an order file."""
    kind = file_format or ("json" if file.suffix.lower() == ".json" else "csv")
    with unit_of_work() as uow:
        text = read_text(file, "order", erp.OrderFileError, encoding="utf-8-sig")
        orders = erp.parse(text, kind, active_catalogs(uow))
        results = erp.import_orders(uow, orders)
        rows = [(r.order.external_id, r.order.id, r.order.status, r.created, r.refused) for r in results]
        uow.commit()
    shown = Table(title=f"imported from {file.name}")
    for column in ("order", "id", "status", "new"):
        shown.add_column(column, no_wrap=column == "id")
    for external_id, order_id, status, created, refused in rows:
        shown.add_row(
            external_id, order_id, status, "yes" if created else "refused" if refused else "already there"
        )
    console.print(shown)
    for refused in (row[4] for row in rows if row[4]):
        errors.print(f"[yellow]refused[/yellow] {refused}")


@app.command("list")
def list_orders(
    status: str | None = typer.Option(None, help="only orders in this status"),
    channel: str | None = typer.Option(None, help="only orders from this channel"),
    limit: int = LIMIT,
    offset: int = OFFSET,
    as_json: bool = JSON,
) -> None:
    """Orders, oldest first: a page of them and how many there are in all."""
    with unit_of_work() as uow:
        page = listing.page_orders(uow, status, channel, limit, offset)
        if as_json:
            print_json(page.as_dict(order_view))
            return
        rows = [_order_row(order) for order in page.items]
    columns = ("id", "channel", "external id", "name", "status", "lines", "received (UTC)")
    print_page(page, table("orders", columns, rows, ids=("id", "external id")))


def _order_row(order: OrderRow) -> list[str]:
    received = f"{order.created_at:%Y-%m-%d %H:%M}" if order.created_at else ""
    lines = str(len(order.lines))
    return [order.id, order.channel, order.external_id, order.name or "", order.status, lines, received]


@app.command()
def show(
    order_id: str = typer.Argument(..., help="order id (ord_...)"),
    as_json: bool = typer.Option(True, "--json/--table", help="JSON (the default, as the API) or a table"),
) -> None:
    """One order with its lines: JSON as `GET /api/v1/orders/{id}` answers it, or a table."""
    with unit_of_work() as uow:
        order = service.get_order(uow, order_id)
        if as_json:
            print_json(order_view(order))
            return
        console.print(f"{order.id}  {order.channel}/{order.external_id}  {order.status}", highlight=False)
        console.print(_lines_table(order.id, order.lines))


def _lines_table(title: str, lines: list[OrderLineRow]) -> Table:
    rows = [_line_row(line) for line in lines]
    columns = ("line", "product", "qty", "options", "status", "work order", "site", "problems")
    return table(title, columns, rows, ids=("line", "work order"))


def _line_row(line: OrderLineRow) -> list[str]:
    work_order = line.work_order.id if line.work_order is not None else ""
    options = ", ".join(f"{k}={v}" for k, v in line.options.items())
    product = line.product or line.sku or ""
    return [
        line.id,
        product,
        str(line.qty),
        options,
        line.status,
        work_order,
        line.site or "",
        _problems(line),
    ]


def _problems(line: OrderLineRow) -> str:
    return "; ".join(f"{p.get('path')}: {p.get('message')}" for p in line.problems)


@app.command()
def history(
    order_id: str = typer.Argument(..., help="order id (ord_...)"),
    as_json: bool = JSON,
) -> None:
    """Every state change of the order, its lines and work orders, oldest first, with reason and actor."""
    with unit_of_work() as uow:
        events = [history_view(event) for event in listing.order_history(uow, order_id)]
    if as_json:
        print_json(events)
        return
    columns = ("at (UTC)", "entity", "id", "from", "to", "actor", "reason")
    keys = ("entity", "entity_id", "from", "to", "actor", "reason")
    rows = [[e["at"][:19].replace("T", " "), *(e[key] or "" for key in keys)] for e in events]
    console.print(table(f"history of {order_id}", columns, rows, ids=("id",)))


@app.command()
def cancel(
    order_id: str = typer.Argument(..., help="order id (ord_...)"),
    reason: str = typer.Option("cancelled by an operator", "--reason", help="why, for the audit trail"),
    as_json: bool = JSON,
) -> None:
    """Cancel an order: work not started is cancelled, started work waits for a person's decision."""
    with unit_of_work() as uow:
        order = service.cancel_order(uow, order_id, reason, actor="cli")
        view = order_view(order)
        shown = _lines_table(f"{order.id}: {order.status}", order.lines)
        uow.commit()
    if as_json:
        print_json(view)
        return
    console.print(shown)


@app.command()
def correct(
    line_id: str = typer.Argument(..., help="order line id (line_...), as `orders needs-attention` shows"),
    option: list[str] = typer.Option([], "--option", help="an option value, K=V; repeat for more"),
    product: str | None = typer.Option(None, "--product", help="the product the line is for"),
    qty: int | None = typer.Option(None, "--qty", min=1, max=10_000, help="units on the line"),
    as_json: bool = JSON,
) -> None:
    """Correct a line in needs attention and release it if it is now valid (exit 4 if it is not waiting)."""
    options = parse_options(option) or None
    with unit_of_work() as uow:
        order_id = listing.find_line(uow, line_id).order_id
        line = service.correct_line(
            uow, order_id, line_id, product=product, options=options, qty=qty, actor="cli"
        )
        view = line_view(line)
        uow.commit()
    if as_json:
        print_json(view)
        return
    if view["status"] == "needs_attention":
        console.print(
            f"{line_id} still needs attention: {'; '.join(_texts(view['problems']))}", highlight=False
        )
    else:
        console.print(f"{line_id} {view['status']}: work order {view['work_order_id']}", highlight=False)


def _texts(problems: list[dict[str, str]]) -> list[str]:
    return [f"{p.get('path')}: {p.get('message')}" for p in problems]


@app.command("needs-attention")
def needs_attention(
    limit: int = LIMIT,
    offset: int = OFFSET,
    as_json: bool = JSON,
    warnings: bool = typer.Option(False, "--warnings", help="open orders with warnings instead"),
) -> None:
    """Lines waiting for a correction, with their problems, oldest order first.

    `--warnings` lists the open orders that route but carry a warning (an approximate destination).
    """
    if warnings:
        _warnings(limit, offset, as_json)
        return
    with unit_of_work() as uow:
        page = listing.page_needs_attention(uow, limit, offset)
        if as_json:
            print_json(page.as_dict(attention_view))
            return
        rows = [
            [line.order_id, line.id, line.sku or "", line.product or "", str(line.qty), _problems(line)]
            for line in page.items
        ]
    columns = ("order", "line", "sku", "product", "qty", "problems")
    print_page(page, table(f"{page.total} lines need attention", columns, rows, ids=("order", "line")))


def _warnings(limit: int, offset: int, as_json: bool) -> None:
    with unit_of_work() as uow:
        page = listing.page_order_warnings(uow, limit, offset)
        if as_json:
            print_json(page.as_dict(warning_view))
            return
        rows = [
            [order.id, order.name or order.external_id, order.status, "; ".join(_texts(order_notes(order)))]
            for order in page.items
        ]
    columns = ("order", "name", "status", "warning")
    print_page(page, table(f"{page.total} orders with warnings", columns, rows, ids=("order",)))


@app.command("retry-attention")
def retry_attention(as_json: bool = JSON) -> None:
    """Re-translate every line in needs attention against the newest catalogs, after a catalog fix.

    Lines that now translate get their work order and are released; the others keep waiting, each
    with the problems found now. Running it again changes nothing more.
    """
    with unit_of_work() as uow:
        view = retry_view(service.retry_needs_attention(uow, actor="cli"))
        uow.commit()
    if as_json:
        print_json(view)
        return
    console.print(f"released {view['released']}, still waiting {view['waiting']}")
    if view["waiting_lines"]:
        rows = [
            [w["order_id"], w["line_id"], w["product"] or w["sku"] or "", "; ".join(_texts(w["problems"]))]
            for w in view["waiting_lines"]
        ]
        console.print(
            table("still waiting", ("order", "line", "product", "problems"), rows, ("order", "line"))
        )
