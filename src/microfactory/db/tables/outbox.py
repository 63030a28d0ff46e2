"""The outbox table: one row per outbound effect, unique by (kind, key) so enqueueing twice is a no-op.

Written in the use case's transaction, so the effect is recorded exactly when the change that
causes it commits; `outbox.dispatcher` claims and sends it afterwards (decision 0007).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from microfactory.db.base import Base, utcnow


class OutboxMessageRow(Base):
    """status pending | in_flight | done | failed | dead | unknown_outcome (see `outbox.model`)."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_outbox_messages_kind_key"),
        Index("ix_outbox_messages_status_due_at", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(80))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]
