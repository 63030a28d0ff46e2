"""What every command needs: the process's container (settings, migrated database, adapters), consoles."""

from __future__ import annotations

import sys
from functools import lru_cache

from rich.console import Console
from sqlalchemy import Engine

from microfactory.bootstrap import Container, bootstrap
from microfactory.config import get_settings
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork

# A pipe or a CI log gets wide tables too, rather than Rich's 80-column fallback.
console = Console(width=None if sys.stdout.isatty() else 120)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 120)


@lru_cache(maxsize=1)
def container() -> Container:
    """The CLI process's container, over the configured database migrated to the newest schema."""
    built = bootstrap(get_settings())
    upgrade(built.engine)
    return built


def engine() -> Engine:
    """The configured database, migrated to the newest schema."""
    return container().engine


def unit_of_work() -> UnitOfWork:
    return container().unit_of_work()
