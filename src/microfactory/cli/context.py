"""What every command needs: settings, an engine with an up-to-date schema, a console."""

from __future__ import annotations

import sys
from functools import lru_cache

import typer
from rich.console import Console
from sqlalchemy import Engine

from microfactory.bootstrap import bootstrap
from microfactory.config import get_settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid, MicrofactoryError

# A pipe or a CI log gets wide tables too, rather than Rich's 80-column fallback.
console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


@lru_cache(maxsize=1)
def engine() -> Engine:
    """The configured database, migrated to the newest schema."""
    bootstrap()
    created = make_engine(get_settings().database_url)
    upgrade(created)
    return created


def unit_of_work() -> UnitOfWork:
    return UnitOfWork.for_engine(engine())


def fail(error: MicrofactoryError | LookupError | ValueError) -> typer.Exit:
    """Print what went wrong (every problem, by place) to stderr; the command exits with 2."""
    if isinstance(error, Invalid):
        errors.print(f"[red]{error.summary}[/red]")
        for problem in error.problems:
            errors.print(f"  - {problem}")
    else:
        errors.print(f"[red]{str(error).strip(chr(39))}[/red]")
    return typer.Exit(2)
