"""material lots: the lot of the material each operation used (issue 12, the unit trace)

Revision ID: 0014
Revises: 0013

A nullable column: operations made before it, and those whose lot nobody knows, stay null.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("operations", sa.Column("material_lot", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("operations") as batch:
        batch.drop_column("material_lot")
