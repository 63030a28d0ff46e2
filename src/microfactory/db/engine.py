"""Engines for the configured database: SQLite (WAL) by default, PostgreSQL by URL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 30_000  # how long a SQLite writer waits for another process's transaction


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
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
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


@contextmanager
def unwaited_write(engine: Engine, connection: Connection) -> Iterator[Connection | None]:
    """A SQLite write transaction on `connection`, begun only if it needs no waiting; None when it would.

    For callers that must not block (the event loop's thread): the write lock of this process is
    tried, not waited for, and SQLite's busy wait is off for the transaction, so a lock held by
    another process fails at once with an error `is_busy` recognises. Either way the caller sends the
    write to a thread that may wait. The caller keeps `connection` for this use, because checking
    one out of a busy pool would wait too. Nothing is written when the transaction fails.
    """
    lock = _WRITE_LOCKS.setdefault(id(engine), threading.Lock())
    if not lock.acquire(blocking=False):
        yield None
        return
    try:
        driver = connection.connection.driver_connection
        assert driver is not None
        driver.execute("PRAGMA busy_timeout=0")
        try:
            with connection.begin():
                yield connection
        finally:
            driver.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        lock.release()


def is_busy(error: OperationalError) -> bool:
    """True when SQLite refused because another connection holds its lock."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
