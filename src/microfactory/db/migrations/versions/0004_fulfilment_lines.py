"""fulfilment lines and names: what each parcel reported to Shopify holds, and what Shopify calls it

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable: the shipments queued before this revision meant "everything still open", as NULL does.
    with op.batch_alter_table("shopify_fulfilment_syncs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lines", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("shopify_fulfillment_name", sa.String(length=120), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_shopify_fulfilment_syncs_shopify_fulfillment_name"),
            ["shopify_fulfillment_name"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("shopify_fulfilment_syncs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shopify_fulfilment_syncs_shopify_fulfillment_name"))
        batch_op.drop_column("shopify_fulfillment_name")
        batch_op.drop_column("lines")
