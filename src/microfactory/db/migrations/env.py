"""Alembic environment: runs on the connection handed over by `microfactory.db.migrate`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

import microfactory.db.tables  # noqa: F401  (registers every table)
from microfactory.db.base import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, poolclass=pool.NullPool)
    with engine.begin() as fresh:
        _run_on(fresh)


def _ours(name: str | None, kind: str, parent: object) -> bool:
    """Autogenerate leaves procrastinate's tables alone (migration 0013 installs its own schema)."""
    return not (kind == "table" and (name or "").startswith("procrastinate_"))


def _run_on(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_name=_ours,
    )
    with context.begin_transaction():
        context.run_migrations()


run()
