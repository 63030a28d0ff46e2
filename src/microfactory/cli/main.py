"""The `microfactory` command: catalog, translate, serve, demo, and each capability's group."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from microfactory.catalog.bridge import TranslationError
from microfactory.catalog.bridge import translate as translate_line
from microfactory.catalog.load import CatalogError, load_catalog
from microfactory.catalog.work_order import Translation
from microfactory.cli import (
    catalog,
    db,
    demo,
    inspection,
    jobs,
    network,
    orders,
    outbox,
    production,
    quality,
    schedule,
    shipments,
    shopify,
    telemetry,
    tokens,
    users,
    work_orders,
)
from microfactory.cli.agent import agent as run_agent
from microfactory.cli.context import console, container
from microfactory.cli.errors import EXIT_CODES_HELP, command_group
from microfactory.cli.option_pairs import parse_options

app = command_group(
    "microfactory: orders from your store, made by local microfactories.",
    epilog=EXIT_CODES_HELP,
    pretty_exceptions_show_locals=False,
)
app.add_typer(catalog.app, name="catalog")

for group, module in (
    ("network", network),
    ("schedule", schedule),
    ("shopify", shopify),
    ("orders", orders),
    ("outbox", outbox),
    ("telemetry", telemetry),
    ("work-orders", work_orders),
    ("tokens", tokens),
    ("users", users),
    ("shipments", shipments),
    ("quality", quality),
    ("inspect", inspection),
    ("db", db),
    ("jobs", jobs),
):
    app.add_typer(module.app, name=group)
app.command("worker")(jobs.worker)
app.add_typer(production.operations_app, name="operations")
app.add_typer(production.units_app, name="units")


@app.command()
def translate(
    catalog_file: Path = typer.Option(..., "--catalog", exists=True, dir_okay=False, help="catalog YAML"),
    product: str = typer.Option(..., "--product", help="product ID (its base SKU)"),
    option: list[str] = typer.Option([], "--option", help="an option value, K=V; repeat for more"),
    qty: int = typer.Option(1, "--qty", help="units on the order line"),
    as_json: bool = typer.Option(False, "--json", help="print the work order as JSON"),
) -> None:
    """Translate one order line into its BOM variant and work order (exit 2 if options are not valid)."""
    try:
        result = translate_line(load_catalog(catalog_file), product, parse_options(option), qty)
    except (TranslationError, CatalogError) as error:
        if as_json:  # the contract: the problems as JSON on stdout, exit 2
            print(json.dumps(error.as_dict(), ensure_ascii=False))
            raise typer.Exit(2) from error
        raise
    if as_json:
        print(json.dumps(result.as_dict(), ensure_ascii=False))
    else:
        _print_translation(result)


def _print_translation(result: Translation) -> None:
    console.print(f"[bold]{result.product}[/bold] x{result.qty}  key {result.configuration_key}")
    console.print(", ".join(f"{k}={v!r}" for k, v in result.options.items()))
    bom = Table(title="BOM variant")
    for column in ("part", "qty", "kind", "level", "material", "rule"):
        bom.add_column(column)
    for line in result.bom:
        bom.add_row(
            line.part, str(line.qty), line.kind, str(line.level), line.material or "", ", ".join(line.rules)
        )
    console.print(bom)
    ops = Table(title="work order operations")
    for column in ("id", "capability", "qty", "minutes", "params", "after"):
        ops.add_column(column)
    for op in result.operations:
        params = json.dumps(dict(op.params), ensure_ascii=False)
        ops.add_row(op.id, op.capability, str(op.qty), f"{op.minutes:g}", params, ", ".join(op.after))
    console.print(ops)
    console.print(f"total {result.total_minutes:g} minutes")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="port to listen on"),
    forwarded_allow_ips: str | None = typer.Option(
        None,
        help="reverse proxies whose X-Forwarded-For/-Proto are trusted (comma-separated, '*' for any); "
        "default: FORWARDED_ALLOW_IPS, else 127.0.0.1",
    ),
) -> None:
    """Run the API (OpenAPI at /openapi.json); behind a proxy, see docs/deploy.md."""
    import uvicorn

    from microfactory.api.app import create_app
    from microfactory.config import get_settings

    get_settings().require_admin_token()  # before migrating: MissingSetting names it, exit 2
    uvicorn.run(
        create_app(container=container()),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,  # the client address and scheme the proxy saw: rate limits, HSTS
        forwarded_allow_ips=forwarded_allow_ips,
    )


app.command("demo")(demo.demo)
app.command("agent")(run_agent)


if __name__ == "__main__":  # `python -m microfactory.cli.main ...` runs the CLI, as the entry point does
    app()
