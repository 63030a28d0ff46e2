"""jobs: procrastinate's queue tables and functions, on PostgreSQL only (decision 0018)

Revision ID: 0013
Revises: 0010

The schema is the one the installed procrastinate ships (`SchemaManager.get_schema()`), applied
in this migration's transaction so that a fresh database is ready for `microfactory worker`. A
later procrastinate version brings its own migrations (procrastinate/sql/migrations); each
becomes one Alembic revision here. SQLite has no queue: the API process's threads do that work.
"""

from collections.abc import Sequence
from typing import Any

from alembic import op
from procrastinate.schema import SchemaManager

revision: str = "0013"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _driver() -> Any:
    return op.get_bind().connection.driver_connection


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _driver().execute(SchemaManager.get_schema())  # many statements: the driver's simple protocol


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _driver().execute(
        """
        DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers,
            procrastinate_jobs, procrastinate_workers CASCADE;
        DO $$ DECLARE f record; BEGIN
            FOR f IN SELECT oid::regprocedure AS signature FROM pg_proc
                     WHERE proname LIKE 'procrastinate%' LOOP
                EXECUTE 'DROP FUNCTION IF EXISTS ' || f.signature || ' CASCADE';
            END LOOP;
        END $$;
        DROP TYPE IF EXISTS procrastinate_job_to_defer_v1, procrastinate_job_event_type,
            procrastinate_job_status CASCADE;
        """
    )
