"""web users: people who log in to the web UI (argon2 password hashes, a role, a site)

Revision ID: 0012
Revises: 0009 (the lead re-chains it after the migrations merged meanwhile)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import microfactory.db.base

revision: str = "0012"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = microfactory.db.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("site", sa.String(length=80), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("disabled_at", UTC_TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_users")),
        sa.UniqueConstraint("username", name=op.f("uq_web_users_username")),
    )


def downgrade() -> None:
    op.drop_table("web_users")
