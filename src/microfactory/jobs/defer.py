"""Deferring a job in the caller's transaction: the job exists exactly when the change that needs it does.

On PostgreSQL the job row is written by procrastinate on the caller's own connection (its
`connection=` option), inside a savepoint: each kind of job has a queueing lock, so when one is
already waiting the insert fails with `AlreadyEnqueued`, the savepoint is rolled back and the
caller's transaction goes on (the waiting job will do this work too). A transaction defers each kind
once. On SQLite there is no queue table: the in-process threads sweep the same durable rows, so
deferring is a no-op there.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from procrastinate import App, exceptions
from procrastinate.psycopg_connector import PsycopgConnector
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from microfactory.db.unit_of_work import UnitOfWork

INBOX, ROUTE, OUTBOX = "mf:inbox", "mf:route", "mf:outbox"
KINDS = (INBOX, ROUTE, OUTBOX)
_DEFERRED = "microfactory.jobs.deferred"


@cache
def _deferring_app() -> App:
    """An app that only writes job rows on connections it is given (it never opens a pool)."""
    return App(connector=PsycopgConnector())


def defer_in_session(session: Session, task: str) -> None:
    """Defer `task` when the session's current transaction commits (PostgreSQL); a no-op elsewhere.

    The job row is written by `before_commit`, after the session has flushed: a use case may ask
    for a job in the middle of building its rows, and a savepoint then would flush them half made.
    A transaction that rolls back takes its wishes with it.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.connection()  # begins the transaction the wish belongs to, if none has begun yet
    transaction = session.get_transaction()
    wanted: tuple[object, set[str]] | None = session.info.get(_DEFERRED)
    if wanted is None or wanted[0] is not transaction:
        wanted = session.info[_DEFERRED] = (transaction, set())
    wanted[1].add(task)


@event.listens_for(Session, "before_commit")
def _defer_wanted(session: Session) -> None:
    wanted: tuple[object, set[str]] | None = session.info.pop(_DEFERRED, None)
    if wanted is None or wanted[0] is not session.get_transaction():
        return
    session.flush()
    for task in sorted(wanted[1]):
        with session.begin_nested() as savepoint:
            if _defer(session.connection(), task):
                savepoint.rollback()


def route_soon(uow: UnitOfWork, event: object) -> None:
    """`WorkOrderReleased`: a routing job commits with the release (subscribed by `bootstrap`)."""
    defer_in_session(uow.session, ROUTE)


def defer_on_connection(connection: Connection, task: str) -> None:
    """Defer `task` in a Core connection's transaction (PostgreSQL); a no-op elsewhere."""
    if connection.dialect.name != "postgresql":
        return
    savepoint = connection.begin_nested()
    if _defer(connection, task):
        savepoint.rollback()
    else:
        savepoint.commit()


def _defer(connection: Connection, task: str) -> bool:
    """Write the job row; True when one of its kind already waits (the savepoint must roll back)."""
    driver: Any = connection.connection.driver_connection
    try:
        _deferring_app().configure_task(task, queueing_lock=task, connection=driver).defer()
    except exceptions.AlreadyEnqueued:
        return True
    return False
