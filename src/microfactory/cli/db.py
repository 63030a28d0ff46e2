"""`microfactory db backup --out FILE` and `db restore FILE`: the configured database, one file.

SQLite through its online backup API (a progress bar by pages), PostgreSQL through pg_dump and
pg_restore (`operations.backup`). Restoring replaces everything: stop the servers and workers
first, and confirm (or pass `--yes`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from microfactory.cli.context import console, errors
from microfactory.cli.errors import command_group
from microfactory.config import get_settings
from microfactory.operations import backup as backups

app = command_group("The database: backup and restore.")


@contextmanager
def _progress(what: str) -> Iterator[backups.Progress]:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} pages"),
    )
    with Progress(*columns, TimeElapsedColumn(), console=errors, transient=True) as bar:
        task = bar.add_task(what, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


@app.command("backup")
def backup(
    out: Path = typer.Option(..., "--out", dir_okay=False, help="the backup file to write (replaced)"),
    as_json: bool = typer.Option(False, "--json", help="print what was written as JSON"),
) -> None:
    """Write a consistent backup of the database while it keeps running."""
    with _progress("backing up") as progress:
        result = backups.backup(get_settings().database_url, out, progress)
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
    else:
        console.print(f"backed up the {result.dialect} database to {result.path} ({result.bytes} bytes)")


@app.command("restore")
def restore(
    source: Path = typer.Argument(..., dir_okay=False, help="a backup written by `db backup`"),
    yes: bool = typer.Option(False, "--yes", help="do not ask: replace the database"),
) -> None:
    """Replace the database's content with a backup. Stop servers and workers first."""
    if not yes:
        typer.confirm("Replace everything in the configured database with this backup?", abort=True)
    with _progress("restoring") as progress:
        result = backups.restore(get_settings().database_url, source, progress)
    console.print(
        f"restored the {result.dialect} database from {result.path}; "
        "a server started now migrates it to this version's schema if it is older"
    )
