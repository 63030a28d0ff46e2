"""`microfactory work-orders ...`: list and show work orders (what a line became, where, in what state)."""

from __future__ import annotations

import typer

from microfactory.cli.context import console, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.cli.listing import JSON, LIMIT, OFFSET, print_json, print_page, table
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.orders import listing, service
from microfactory.orders.views import work_order_view
from microfactory.production.views import work_order_production

app = command_group("Work orders: list and show.")


@app.command("list")
def list_work_orders(
    status: str | None = typer.Option(None, help="only work orders in this status"),
    site: str | None = typer.Option(None, help="only work orders at this site"),
    limit: int = LIMIT,
    offset: int = OFFSET,
    as_json: bool = JSON,
) -> None:
    """Work orders, oldest first: a page of them and how many there are in all."""
    with unit_of_work() as uow:
        page = listing.page_work_orders(uow, status, site, limit, offset)
        if as_json:
            print_json(page.as_dict(work_order_view))
            return
        rows = [_row(wo) for wo in page.items]
    columns = ("id", "line", "product", "qty", "configuration", "status", "site", "minutes")
    print_page(page, table("work orders", columns, rows, ids=("id", "line", "configuration")))


def _row(wo: WorkOrderRow) -> list[str]:
    minutes = f"{wo.total_minutes:g}"
    return [
        wo.id,
        wo.order_line_id,
        wo.product,
        str(wo.qty),
        wo.configuration_key,
        wo.status,
        wo.site or "",
        minutes,
    ]


@app.command()
def show(
    work_order_id: str = typer.Argument(..., help="work order id (wo_...)"),
    as_json: bool = JSON,
) -> None:
    """One work order: its state, site, and the operations its translation asks for."""
    with unit_of_work() as uow:
        view = work_order_production(uow, work_order_view(service.get_work_order(uow, work_order_id)))
    if as_json:
        print_json(view)
        return
    console.print(
        f"{view['id']}  {view['product']} x{view['qty']}  {view['status']}"
        f"  site {view['site'] or '-'}  line {view['order_line_id']}",
        highlight=False,
    )
    rows = [
        [
            op["id"],
            op["capability"],
            str(op["qty"]),
            f"{op['minutes']:g}",
            ", ".join(op.get("after", [])),
            op["status"],
            op["machine"] or "",
        ]
        for op in view["operations"]
    ]
    columns = ("operation", "capability", "qty", "minutes", "after", "status", "machine")
    console.print(table(f"operations of {view['id']}", columns, rows, ids=("operation",)))
    if view["units"]:
        console.print(f"units: {', '.join(view['units'])}", highlight=False)
