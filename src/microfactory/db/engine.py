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

from microfactory.errors import Busy

BUSY_TIMEOUT_MS = 30_000  # how long a SQLite writer waits for another process's transaction
MAX_WAITERS = 8  # request threads waiting for the write turn; the pool has 40, the rest stay free
WAIT_SECONDS = 5.0  # how long one of them waits before it answers 503


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
    # FULL: a commit is on disk before it returns, so what we acknowledged (a webhook's 200, an
    # order's 201) survives a power cut too; with group commit it costs one sync per batch (0008).
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


class WriteTurn:
    """One SQLite database's write turn in this process: a lock, and a bound on who may wait for it.

    Workers take it with `with turn:` and wait as long as needed. Request threads take it with
    `bounded()`: at most `max_waiters` of them wait, each at most `timeout` seconds, and the others
    get `Busy` (503 + Retry-After) at once. Unbounded, every thread of the server's pool could end
    up waiting for the turn while its holder needs one more thread to finish: the server hung for
    good (issue 11.1). Bounded, most of the pool always stays free for the holder and for reads.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters = 0
        self._count = threading.Lock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def __enter__(self) -> WriteTurn:
        self._lock.acquire()
        return self

    def __exit__(self, *_: object) -> None:
        self._lock.release()

    @contextmanager
    def bounded(self, max_waiters: int = MAX_WAITERS, timeout: float = WAIT_SECONDS) -> Iterator[None]:
        """The turn, or `Busy` when `max_waiters` already wait or it is not free within `timeout`."""
        if not self._lock.acquire(blocking=False):
            self._wait(max_waiters, timeout)
        try:
            yield
        finally:
            self._lock.release()

    def _wait(self, max_waiters: int, timeout: float) -> None:
        with self._count:
            if self._waiters >= max_waiters:
                raise Busy(f"the database is busy: {self._waiters} writes are waiting; try again shortly")
            self._waiters += 1
        try:
            taken = self._lock.acquire(timeout=timeout)
        finally:
            with self._count:
                self._waiters -= 1
        if not taken:
            raise Busy(f"the database stayed busy for {timeout:g} s; try again shortly")


_WRITE_TURNS: dict[int, WriteTurn] = {}
_TURNS_LOCK = threading.Lock()


def write_turn(engine: Engine) -> WriteTurn:
    """The engine's write turn (one per engine and process)."""
    with _TURNS_LOCK:
        return _WRITE_TURNS.setdefault(id(engine), WriteTurn())


def write_lock(engine: Engine) -> AbstractContextManager[Any]:
    """Serialise writers of one SQLite database inside this process; waits as long as needed.

    SQLite allows one writer at a time; without this, concurrent threads wait on SQLite's sleeping
    busy handler, which turns contention into long tail latencies. A lock hands over at once.
    PostgreSQL needs nothing of the kind. Request threads use `bounded_write_turn` instead.
    """
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return write_turn(engine)


def bounded_write_turn(engine: Engine) -> AbstractContextManager[Any]:
    """The write turn for a request thread: a bounded wait, else `Busy` (see `WriteTurn`)."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return write_turn(engine).bounded()


@contextmanager
def unwaited_write(engine: Engine, connection: Connection) -> Iterator[Connection | None]:
    """A SQLite write transaction on `connection`, begun only if it needs no waiting; None when it would.

    For callers that must not block (the event loop's thread): the write lock of this process is
    tried, not waited for, and SQLite's busy wait is off for the transaction, so a lock held by
    another process fails at once with an error `is_busy` recognises. Either way the caller sends the
    write to a thread that may wait. The caller keeps `connection` for this use, because checking
    one out of a busy pool would wait too. Nothing is written when the transaction fails.
    """
    lock = write_turn(engine)
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
