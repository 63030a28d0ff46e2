"""production: stored site plans, released operations, agent reports (applied once), units

Revision ID: 0009
Revises: 0006 (the lead re-chains it after the migrations merged meanwhile)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microfactory.db.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = microfactory.db.base.UTCDateTime(timezone=True)
LIVE = sa.text("superseded_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "site_plans",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("plan", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_plans")),
    )
    op.create_index("ix_site_plans_site_created", "site_plans", ["site", "created_at"])
    op.create_table(
        "operations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("plan_id", sa.String(length=40), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("work_order_id", sa.String(length=40), nullable=False),
        sa.Column("op", sa.String(length=160), nullable=False),
        sa.Column("capability", sa.String(length=80), nullable=False),
        sa.Column("machine", sa.String(length=80), nullable=False),
        sa.Column("batch", sa.String(length=80), nullable=True),
        sa.Column("qty", sa.Float(), nullable=False),
        sa.Column("planned_start", UTC_TIME, nullable=False),
        sa.Column("planned_end", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", UTC_TIME, nullable=True),
        sa.Column("finished_at", UTC_TIME, nullable=True),
        sa.Column("operator", sa.String(length=120), nullable=True),
        sa.Column("program", sa.String(length=300), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("hold_reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("superseded_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"], ["site_plans.id"], name=op.f("fk_operations_plan_id_site_plans")
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_operations_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
    )
    op.create_index("ix_operations_work_order_id", "operations", ["work_order_id"])
    op.create_index("ix_operations_site_status", "operations", ["site", "status"])
    op.create_index(
        "uq_operations_live_step",
        "operations",
        ["work_order_id", "op"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )
    op.create_table(
        "operation_reports",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("operation_id", sa.String(length=40), nullable=False),
        sa.Column("event", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("applied_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["operation_id"], ["operations.id"], name=op.f("fk_operation_reports_operation_id_operations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operation_reports")),
    )
    op.create_index("ix_operation_reports_operation_id", "operation_reports", ["operation_id"])
    op.create_table(
        "units",
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("work_order_id", sa.String(length=40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("made_at", UTC_TIME, nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_units_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_units")),
        sa.UniqueConstraint("work_order_id", "seq", name="uq_units_work_order_id"),
    )
    op.create_index("ix_units_work_order_id", "units", ["work_order_id"])


def downgrade() -> None:
    op.drop_index("ix_units_work_order_id", table_name="units")
    op.drop_table("units")
    op.drop_index("ix_operation_reports_operation_id", table_name="operation_reports")
    op.drop_table("operation_reports")
    op.drop_index("uq_operations_live_step", table_name="operations")
    op.drop_index("ix_operations_site_status", table_name="operations")
    op.drop_index("ix_operations_work_order_id", table_name="operations")
    op.drop_table("operations")
    op.drop_index("ix_site_plans_site_created", table_name="site_plans")
    op.drop_table("site_plans")
