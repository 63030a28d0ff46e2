"""one active assignment per work order: a partial unique index over offered and accepted

Revision ID: 0007
Revises: 0006

Two routers running at once could offer one work order twice (issue 11). Doubles already stored
would stop the index from being built: every work order keeps its oldest active assignment, the
others are released with their reserved parts and a reason that says why.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import microfactory.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE_WHERE = "status IN ('offered', 'accepted')"
REASON = "a second active offer of the same work order, ended by migration 0007"


def upgrade() -> None:
    _release_doubles()
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.create_index(
            "uq_assignments_active_work_order",
            ["work_order_id"],
            unique=True,
            postgresql_where=sa.text(ACTIVE_WHERE),
            sqlite_where=sa.text(ACTIVE_WHERE),
        )


def _release_doubles() -> None:
    stamp = microfactory.db.base.UTCDateTime()
    assignments = sa.table(
        "assignments",
        *(sa.column(name) for name in ("id", "work_order_id", "status", "reason", "decided_by")),
        sa.column("created_at", stamp),
        sa.column("updated_at", stamp),
    )
    reservations = sa.table("stock_reservations", sa.column("assignment_id"), sa.column("released_at", stamp))
    bind = op.get_bind()
    active = bind.execute(
        sa.select(assignments.c.id, assignments.c.work_order_id)
        .where(assignments.c.status.in_(("offered", "accepted")))
        .order_by(assignments.c.work_order_id, assignments.c.created_at, assignments.c.id)
    ).all()
    seen: set[str] = set()
    now = datetime.now(UTC)
    for assignment_id, work_order_id in active:
        if work_order_id not in seen:
            seen.add(work_order_id)
            continue
        bind.execute(
            assignments.update()
            .where(assignments.c.id == assignment_id)
            .values(status="released", reason=REASON, decided_by="migration", updated_at=now)
        )
        bind.execute(
            reservations.update()
            .where(reservations.c.assignment_id == assignment_id, reservations.c.released_at.is_(None))
            .values(released_at=now)
        )


def downgrade() -> None:
    with op.batch_alter_table("assignments", schema=None) as batch_op:
        batch_op.drop_index("uq_assignments_active_work_order")
