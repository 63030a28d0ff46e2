"""logistics: shipments (parcels, labels, tracking), their tracking events, partner health

Revision ID: 0011
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microfactory.db.base

revision: str = "0011"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = microfactory.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("idempotency_key", sa.String(length=120), nullable=False),
        sa.Column("order_id", sa.String(length=40), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=False),
        sa.Column("partner", sa.String(length=80), nullable=False),
        sa.Column("carrier", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("mass_kg", sa.Numeric(precision=10, scale=3), nullable=False),
        sa.Column("length_cm", sa.Numeric(precision=8, scale=1), nullable=False),
        sa.Column("width_cm", sa.Numeric(precision=8, scale=1), nullable=False),
        sa.Column("height_cm", sa.Numeric(precision=8, scale=1), nullable=False),
        sa.Column("policy", sa.String(length=30), nullable=False),
        sa.Column("rate", sa.JSON(), nullable=True),
        sa.Column("rate_amount", sa.Numeric(precision=12, scale=2), nullable=True),
        sa.Column("rate_currency", sa.String(length=3), nullable=True),
        sa.Column("buy_partner", sa.String(length=80), nullable=True),
        sa.Column("label_id", sa.String(length=120), nullable=True),
        sa.Column("tracking_number", sa.String(length=120), nullable=True),
        sa.Column("tracking_url", sa.String(length=500), nullable=True),
        sa.Column("label_url", sa.String(length=500), nullable=True),
        sa.Column("label_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("pickup_id", sa.String(length=120), nullable=True),
        sa.Column("promised_delivery_at", UTC_TIME, nullable=True),
        sa.Column("delivered_at", UTC_TIME, nullable=True),
        sa.Column("tracked_at", UTC_TIME, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_shipments_order_id_orders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipments")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_shipments_idempotency_key")),
    )
    op.create_index("ix_shipments_order_id", "shipments", ["order_id"])
    op.create_index("ix_shipments_site", "shipments", ["site"])
    op.create_index("ix_shipments_status", "shipments", ["status"])
    op.create_index("ix_shipments_status_checked", "shipments", ["status", "tracked_at"])
    op.create_index("ix_shipments_tracking", "shipments", ["tracking_number"])
    op.create_table(
        "shipment_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("shipment_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["shipment_id"],
            ["shipments.id"],
            name=op.f("fk_shipment_events_shipment_id_shipments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shipment_events")),
        sa.UniqueConstraint("shipment_id", "state", "at", name="uq_shipment_events_once"),
    )
    op.create_index("ix_shipment_events_shipment_id", "shipment_events", ["shipment_id"])
    op.create_table(
        "partner_health",
        sa.Column("partner", sa.String(length=80), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTC_TIME, nullable=True),
        sa.Column("retry_at", UTC_TIME, nullable=True),
        sa.Column("probe_by", sa.String(length=120), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("alert_id", sa.String(length=40), nullable=True),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("partner", name=op.f("pk_partner_health")),
    )


def downgrade() -> None:
    op.drop_table("partner_health")
    op.drop_index("ix_shipment_events_shipment_id", table_name="shipment_events")
    op.drop_table("shipment_events")
    op.drop_index("ix_shipments_tracking", table_name="shipments")
    op.drop_index("ix_shipments_status_checked", table_name="shipments")
    op.drop_index("ix_shipments_status", table_name="shipments")
    op.drop_index("ix_shipments_site", table_name="shipments")
    op.drop_index("ix_shipments_order_id", table_name="shipments")
    op.drop_table("shipments")
