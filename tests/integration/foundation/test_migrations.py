"""The migrations build exactly the schema the tables describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

import microfactory.db.tables  # noqa: F401
from microfactory.db.base import Base


def _ours(name: str | None, kind: str, parent: object) -> bool:
    return not (kind == "table" and (name or "").startswith("procrastinate_"))


def test_migrated_schema_matches_the_tables(engine: Engine) -> None:
    with engine.connect() as connection:
        opts = {"compare_type": False, "include_name": _ours}  # procrastinate's tables are its own
        context = MigrationContext.configure(connection, opts=opts)
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
