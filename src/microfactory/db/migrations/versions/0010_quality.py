"""quality: inspections with their images, non-conformance reports, machine holds; scrapped units

Revision ID: 0010
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microfactory.db.base

revision: str = "0010"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = microfactory.db.base.UTCDateTime(timezone=True)
OPEN_NCR = sa.text("status = 'open'")
HOLD_IN_FORCE = sa.text("released_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("scrapped_at", UTC_TIME, nullable=True))
    op.create_table(
        "inspection_images",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("path", sa.String(length=400), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_images")),
    )
    op.create_table(
        "inspections",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("work_order_id", sa.String(length=40), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("product", sa.String(length=120), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("manual", sa.Boolean(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("machines", sa.JSON(), nullable=False),
        sa.Column("image_id", sa.String(length=40), nullable=True),
        sa.Column("station", sa.String(length=120), nullable=True),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["inspection_images.id"], name=op.f("fk_inspections_image_id_inspection_images")
        ),
        sa.ForeignKeyConstraint(
            ["serial"], ["units.serial"], name=op.f("fk_inspections_serial_units"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_inspections_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    op.create_index("ix_inspections_serial_created", "inspections", ["serial", "created_at"])
    op.create_index("ix_inspections_work_order_id", "inspections", ["work_order_id"])
    op.create_table(
        "ncrs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("serial", sa.String(length=80), nullable=False),
        sa.Column("work_order_id", sa.String(length=40), nullable=False),
        sa.Column("inspection_id", sa.String(length=40), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("product", sa.String(length=120), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("disposition", sa.String(length=20), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("steps", sa.JSON(), nullable=True),
        sa.Column("disposed_by", sa.String(length=120), nullable=True),
        sa.Column("disposed_at", UTC_TIME, nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["inspection_id"], ["inspections.id"], name=op.f("fk_ncrs_inspection_id_inspections")
        ),
        sa.ForeignKeyConstraint(
            ["serial"], ["units.serial"], name=op.f("fk_ncrs_serial_units"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["work_orders.id"],
            name=op.f("fk_ncrs_work_order_id_work_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ncrs")),
    )
    op.create_index(
        "uq_ncrs_open_serial",
        "ncrs",
        ["serial"],
        unique=True,
        sqlite_where=OPEN_NCR,
        postgresql_where=OPEN_NCR,
    )
    op.create_index("ix_ncrs_status_created", "ncrs", ["status", "created_at"])
    op.create_index("ix_ncrs_work_order_id", "ncrs", ["work_order_id"])
    op.create_table(
        "machine_holds",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("machine", sa.String(length=80), nullable=False),
        sa.Column("chart", sa.String(length=80), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("signal", sa.JSON(), nullable=False),
        sa.Column("held_at", UTC_TIME, nullable=False),
        sa.Column("released_at", UTC_TIME, nullable=True),
        sa.Column("released_by", sa.String(length=120), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_machine_holds")),
    )
    op.create_index(
        "uq_machine_holds_in_force",
        "machine_holds",
        ["site", "machine"],
        unique=True,
        sqlite_where=HOLD_IN_FORCE,
        postgresql_where=HOLD_IN_FORCE,
    )


def downgrade() -> None:
    op.drop_index("uq_machine_holds_in_force", table_name="machine_holds")
    op.drop_table("machine_holds")
    op.drop_index("ix_ncrs_work_order_id", table_name="ncrs")
    op.drop_index("ix_ncrs_status_created", table_name="ncrs")
    op.drop_index("uq_ncrs_open_serial", table_name="ncrs")
    op.drop_table("ncrs")
    op.drop_index("ix_inspections_work_order_id", table_name="inspections")
    op.drop_index("ix_inspections_serial_created", table_name="inspections")
    op.drop_table("inspections")
    op.drop_table("inspection_images")
    with op.batch_alter_table("units") as batch:
        batch.drop_column("scrapped_at")
