"""People who log in to the web UI: a username, an argon2 hash of the password, a role and its site."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from microfactory.db.base import Base, utcnow


class WebUserRow(Base):
    """A web user; `disabled_at` ends every session at its next request (the row is kept for the audit)."""

    __tablename__ = "web_users"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)  # stored lower case
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    site: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(default=None)
