"""What every list command shares: `--limit`/`--offset`/`--json`, tables that never cut an id, the
"showing 1-50 of 312" line under them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import typer
from rich.table import Table

from microfactory.cli.context import console
from microfactory.orders.paging import CLI_MAX_LIMIT, Page

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
