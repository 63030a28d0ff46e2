"""fulfilment lines: what each parcel reported to Shopify holds (partial and split shipments)

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


def downgrade() -> None:
    with op.batch_alter_table("shopify_fulfilment_syncs", schema=None) as batch_op:
        batch_op.drop_column("lines")
