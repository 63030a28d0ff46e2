"""telemetry: machine readings, their rollups, and alerts

Revision ID: 0008
Revises: 0007

The lead re-chains `down_revision` at merge if other migrations (0006, 0007) land first.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microfactory.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
NAME = sa.String(length=80)


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, microfactory.db.base.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "telemetry_readings",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("site", NAME, nullable=False),
        sa.Column("machine", NAME, nullable=False),
        sa.Column("metric", NAME, nullable=False),
        _when("ts"),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("operation_id", NAME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_readings")),
    )
    op.create_index(
        "ix_telemetry_readings_machine_metric_ts", "telemetry_readings", ["machine", "metric", "ts"]
    )
    op.create_table(
        "telemetry_rollups",
        sa.Column("id", KEY, autoincrement=True, nullable=False),
        sa.Column("site", NAME, nullable=False),
        sa.Column("machine", NAME, nullable=False),
        sa.Column("metric", NAME, nullable=False),
        _when("bucket"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("low", sa.Float(), nullable=False),
        sa.Column("mean", sa.Float(), nullable=False),
        sa.Column("high", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telemetry_rollups")),
        sa.UniqueConstraint("machine", "metric", "bucket", name="uq_telemetry_rollups_key"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("site", NAME, nullable=False),
        sa.Column("machine", NAME, nullable=False),
        sa.Column("metric", NAME, nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        _when("at"),
        sa.Column("operation_id", NAME, nullable=True),
        _when("closed_at", nullable=True),
        sa.Column("closed_by", sa.String(length=120), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index("ix_alerts_closed_at_machine", "alerts", ["closed_at", "machine"])


def downgrade() -> None:
    op.drop_index("ix_alerts_closed_at_machine", table_name="alerts")
    op.drop_table("alerts")
    op.drop_table("telemetry_rollups")
    op.drop_index("ix_telemetry_readings_machine_metric_ts", table_name="telemetry_readings")
    op.drop_table("telemetry_readings")
