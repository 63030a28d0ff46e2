"""Locks that keep two processes from deciding on the same rows at once.

PostgreSQL runs writers side by side, so a use case that reads rows and then writes on what it read
must lock them: rows with `SELECT ... FOR UPDATE` (`lock_rows`), whole decisions that read many rows
(routing reads every site's load and stock) with a transaction-scoped advisory lock (`hold`).
SQLite has one writer at a time but lets a transaction read before it writes; a second writer whose
snapshot went stale is refused. `hold` therefore makes the transaction SQLite's writer at once, so
that it reads what the last writer committed. Every lock here ends with the transaction.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session

ROUTING = "network.routing"


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (the same in every process and every release)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def hold(session: Session, name: str) -> None:
    """Wait for and hold the lock `name` until this transaction ends (re-entrant within it).

    On SQLite the transaction becomes the database's one writer instead: call this before reading
    what the decision depends on.
    """
    if is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(name)})
    else:
        become_writer(session)


def become_writer(session: Session) -> None:
    """SQLite: take the write lock now (a write that changes nothing); waits the busy timeout.

    Does nothing on PostgreSQL, whose row locks do this job. Call it as the first statement of a
    transaction: one that has already read may be refused if another process wrote since.
    """
    if not is_postgresql(session):
        session.execute(text("UPDATE work_orders SET id = id WHERE 0 = 1"))


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
