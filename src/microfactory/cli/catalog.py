"""`microfactory catalog validate|load FILE`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from microfactory.catalog import service
from microfactory.catalog.load import build_catalog, read_catalog_file
from microfactory.catalog.model import Catalog
from microfactory.cli.context import console, unit_of_work
from microfactory.cli.errors import command_group

app = command_group("Check and load catalogs (products, options, BOMs, routings).")

FileArg = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="catalog YAML file")


def _read(path: Path) -> tuple[dict[str, object], Catalog]:
    document = read_catalog_file(path)
    return document, build_catalog(document)


def _summary(catalog: Catalog) -> Table:
    table = Table(title=f"catalog {catalog.name} v{catalog.version}")
    for column in ("product", "name", "options", "BOM lines", "routing ops"):
        table.add_column(column)
    for sku, product in catalog.products.items():
        table.add_row(
            sku, product.name, ", ".join(product.options), str(len(product.bom)), str(len(product.routing))
        )
    return table


@app.command()
def validate(file: Path = FileArg) -> None:
    """Check a catalog file; exit 2 and list every problem by place if it is not valid."""
    _, catalog = _read(file)
    console.print(_summary(catalog))
    console.print(f"[green]valid[/green]: {len(catalog.parts)} parts, {len(catalog.materials)} materials")


@app.command()
def load(file: Path = FileArg) -> None:
    """Validate and store a catalog version; existing work orders keep the version they were made with."""
    document, _ = _read(file)
    with unit_of_work() as uow:
        result = service.load_catalog(uow, document)
        uow.commit()
    state = "loaded" if result.created else "already loaded (unchanged)"
    console.print(f"catalog {result.catalog.name} v{result.catalog.version} {state}")
