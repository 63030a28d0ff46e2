"""outbox: one durable queue of outbound effects; shipment keys unique within their order

Revision ID: 0005
Revises: 0004

Shipments still pending get their `shopify.fulfilment` message here, so nothing queued before the
upgrade is forgotten; the payload is the one `channels.shopify.fulfilment_sync` writes.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import microfactory.db.base

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=80), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", microfactory.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lease_until", microfactory.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", microfactory.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", microfactory.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", microfactory.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("kind", "key", name="uq_outbox_messages_kind_key"),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_status_due_at", ["status", "due_at"], unique=False)

    with op.batch_alter_table("shopify_fulfilment_syncs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_shopify_fulfilment_syncs_idempotency_key", type_="unique")
        batch_op.create_unique_constraint(
            "uq_shopify_fulfilment_syncs_order_key", ["order_id", "idempotency_key"]
        )
    _enqueue_pending_shipments()


def _enqueue_pending_shipments() -> None:
    shipments = sa.table(
        "shopify_fulfilment_syncs",
        *(sa.column(name) for name in ("id", "shopify_order_id", "order_name", "tracking_number")),
        *(sa.column(name) for name in ("tracking_company", "tracking_url", "status", "attempts")),
        sa.column("lines", sa.JSON()),
    )
    messages = sa.table(
        "outbox_messages",
        *(sa.column(name) for name in ("id", "kind", "key", "status", "attempts")),
        sa.column("payload", sa.JSON()),
        *(
            sa.column(name, microfactory.db.base.UTCDateTime())
            for name in ("due_at", "created_at", "updated_at")
        ),
    )
    bind = op.get_bind()
    now = datetime.now(UTC)
    rows = bind.execute(sa.select(shipments).where(shipments.c.status == "pending")).mappings().all()
    for row in rows:
        payload = {
            "shipment_id": row["id"],
            "shopify_order_id": row["shopify_order_id"],
            "order_name": row["order_name"],
            "tracking_number": row["tracking_number"],
            "company": row["tracking_company"],
            "url": row["tracking_url"],
            "lines": row["lines"],
        }
        bind.execute(
            messages.insert().values(
                id=f"obx_{uuid.uuid4().hex}",
                kind="shopify.fulfilment",
                key=row["id"],
                status="pending",
                attempts=row["attempts"] or 0,
                payload=payload,
                due_at=now,
                created_at=now,
                updated_at=now,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("shopify_fulfilment_syncs", schema=None) as batch_op:
        batch_op.drop_constraint("uq_shopify_fulfilment_syncs_order_key", type_="unique")
        batch_op.create_unique_constraint("uq_shopify_fulfilment_syncs_idempotency_key", ["idempotency_key"])
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_messages_status_due_at")
    op.drop_table("outbox_messages")
