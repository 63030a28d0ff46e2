"""token roles: a token's site, revocation, and names unique among live tokens

Revision ID: 0006
Revises: 0004 (the lead re-chains it after 0005)

Tokens issued before this revision were all stored with the role `admin`, which let any of them
issue tokens and replace the catalog and network. They become `planner` tokens: everything but
those. The admin token of the environment is unaffected; re-issue an admin token if one is needed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microfactory.db.base

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("revoked_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site", sa.String(length=80), nullable=True))
        batch_op.add_column(
            sa.Column("revoked_at", microfactory.db.base.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE api_tokens SET role = 'planner' WHERE role = 'admin'")
    # names were not unique before: later duplicates take their id as a suffix
    op.execute(
        "UPDATE api_tokens SET name = substr(name, 1, 38) || '-' || id "
        "WHERE id NOT IN (SELECT MIN(id) FROM api_tokens GROUP BY name)"
    )
    op.create_index(
        "uq_api_tokens_live_name",
        "api_tokens",
        ["name"],
        unique=True,
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_api_tokens_live_name", table_name="api_tokens")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("site")
