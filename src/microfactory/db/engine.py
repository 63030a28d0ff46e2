"""Engines for the configured database: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine tuned for the dialect: SQLite gets WAL, a busy timeout, foreign keys and savepoints."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sqlite_begin(connection: Any) -> None:
    # SQLAlchemy's documented recipe: the driver's own transaction handling breaks SAVEPOINT, so
    # the driver is told to stay out of it (isolation_level None) and BEGIN is emitted here.
    connection.exec_driver_sql("BEGIN")


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


_WRITE_LOCKS: dict[int, threading.Lock] = {}


def write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """Serialise writers of one SQLite database inside this process.

    SQLite allows one writer at a time; without this, concurrent request threads wait on SQLite's
    sleeping busy handler, which turns contention into long tail latencies. A lock hands over at once.
    PostgreSQL needs nothing of the kind.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return _WRITE_LOCKS.setdefault(id(engine), threading.Lock())
