"""What every list command shares: `--limit`/`--offset`/`--json`, tables that never cut an id, the
"showing 1-50 of 312" line under them, and domain errors turned into a message and an exit code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import typer
from rich.table import Table

from microfactory.cli.context import console, errors
from microfactory.errors import Conflict, Invalid, MicrofactoryError, NotFound
from microfactory.orders.paging import CLI_MAX_LIMIT, Page
from microfactory.orders.service import LineNotCorrectable

LIMIT = typer.Option(
    50, "--limit", min=1, max=CLI_MAX_LIMIT, help=f"at most this many rows (1 to {CLI_MAX_LIMIT})"
)
OFFSET = typer.Option(0, "--offset", min=0, help="skip this many rows first (the next page)")
JSON = typer.Option(False, "--json", help="print JSON instead of a table")


def print_json(data: object) -> None:
    """JSON on stdout, nothing else, for scripts and `jq`."""
    print(json.dumps(data, ensure_ascii=False, indent=2))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[str]], ids: Sequence[str]) -> Table:
    """A table whose id columns are never wrapped or cut, so that an id can be copied whole."""
    shown = Table(title=title)
    for index, name in enumerate(columns):
        if name in ids:
            width = max((len(row[index]) for row in rows), default=len(name))
            shown.add_column(name, no_wrap=True, min_width=max(width, len(name)))
        else:
            shown.add_column(name, overflow="fold")
    for row in rows:
        shown.add_row(*row)
    return shown


def print_page(page: Page[Any], shown: Table) -> None:
    """The table, then how much of the list it shows and how to see the next page."""
    console.print(shown)
    console.print(page.summary())


EXIT_CODES: tuple[tuple[type[Exception], int], ...] = (
    (Invalid, 2),
    (NotFound, 3),
    (LookupError, 3),  # the not-found errors not yet moved into the tree (`errors.py`)
    (Conflict, 4),
    (LineNotCorrectable, 4),
)


@contextmanager
def reported() -> Iterator[None]:
    """Domain errors as one red line on stderr and the exit code of their kind (see `errors.py`)."""
    try:
        yield
    except (MicrofactoryError, LookupError, LineNotCorrectable) as error:
        code = next((code for kind, code in EXIT_CODES if isinstance(error, kind)), 1)
        errors.print(str(error).strip("'"), style="red", markup=False, highlight=False)
        raise typer.Exit(code) from error
