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
from microfactory.cli import catalog, network, orders, schedule, shopify, tokens
from microfactory.cli.context import console, errors, fail

app = typer.Typer(
    help="microfactory: orders from your store, made by local microfactories.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(catalog.app, name="catalog")

for group, module in (
    ("network", network),
    ("schedule", schedule),
    ("shopify", shopify),
    ("orders", orders),
    ("tokens", tokens),
):
    app.add_typer(module.app, name=group)


def _parse_options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{pair!r} is not K=V", param_hint="--option")
        options[key.strip()] = value
    return options


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
        result = translate_line(load_catalog(catalog_file), product, _parse_options(option), qty)
    except (TranslationError, CatalogError) as error:
        if as_json:
            print(json.dumps(error.as_dict(), ensure_ascii=False))
            raise typer.Exit(2) from error
        raise fail(error) from error
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
) -> None:
    """Run the API (OpenAPI at /openapi.json)."""
    import uvicorn

    from microfactory.api.app import create_app
    from microfactory.config import MissingSetting, get_settings

    settings = get_settings()
    try:
        settings.require_admin_token()
    except MissingSetting as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from error
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def demo(
    orders: int = typer.Option(300, help="how many orders to generate"),
    seed: int = typer.Option(7, help="random seed: the same seed gives the same demo"),
    shared: Path = typer.Option(Path("../shared"), help="the shared/ folder with the example files"),
) -> None:
    """The main job on the embedded default (SQLite): a whole pilot, end to end, with a report."""
    from microfactory.simulation.demo import run_demo

    run_demo(orders=orders, seed=seed, shared=shared)
