"""Claiming due messages and recording what became of them: the only SQL that moves a message.

Two dispatchers (threads, processes, machines) may ask for the same due messages at once; each
message must go to exactly one. PostgreSQL: `SELECT ... FOR UPDATE SKIP LOCKED` locks the rows one
dispatcher takes and lets the other pass over them without waiting. SQLite has no row locks but one
writer at a time: a conditional `UPDATE ... WHERE id = ? AND <claimable>` per candidate, in a
transaction whose first statement is that write, so the condition is read under the write lock.

A claim marks the message `in_flight` with a lease, counts the attempt and names the worker; the
outcome is recorded only while that claim still holds (same worker, same attempt, still in flight),
so a worker that outlived its lease cannot overwrite the worker that took the message over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from microfactory.db.engine import write_lock
from microfactory.db.tables.outbox import OutboxMessageRow as Row
from microfactory.outbox.model import CLAIMABLE, MessageStatus


@dataclass(frozen=True)
class Message:
    """A claimed message as its handler sees it: plain values, no session, nothing to lazy-load."""

    id: str
    kind: str
    key: str
    payload: Mapping[str, Any]
    attempts: int  # this attempt's number, 1 for the first


def claimable(now: datetime, *, ignore_backoff: bool = False) -> ColumnElement[bool]:
    """`model.is_claimable` as SQL: due and waiting, or in flight with an expired lease."""
    waiting: ColumnElement[bool] = Row.status.in_([str(status) for status in CLAIMABLE])
    if not ignore_backoff:
        waiting = and_(waiting, Row.due_at <= now)
    expired = and_(Row.status == MessageStatus.IN_FLIGHT, Row.lease_until < now)
    return or_(waiting, expired)


def claim(
    factory: sessionmaker[Session],
    kinds: Iterable[str],
    *,
    limit: int,
    worker_id: str,
    now: datetime,
    lease_for: Callable[[str], timedelta],
    ignore_backoff: bool = False,
) -> list[Message]:
    """Take up to `limit` due messages of `kinds` for `worker_id`, committed before any is handled."""
    condition = and_(Row.kind.in_(list(kinds)), claimable(now, ignore_backoff=ignore_backoff))
    with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            return _claim_skip_locked(session, condition, limit, worker_id, now, lease_for)
        return _claim_conditionally(session, condition, limit, worker_id, now, lease_for)


def _claim_skip_locked(
    session: Session,
    condition: ColumnElement[bool],
    limit: int,
    worker_id: str,
    now: datetime,
    lease_for: Callable[[str], timedelta],
) -> list[Message]:
    with session.begin():
        query = select(Row).where(condition).order_by(Row.due_at, Row.id).limit(limit)
        rows = list(session.scalars(query.with_for_update(skip_locked=True)))
        for row in rows:
            _take(row, worker_id, now, lease_for(row.kind))
        return [_message(row) for row in rows]


def _claim_conditionally(
    session: Session,
    condition: ColumnElement[bool],
    limit: int,
    worker_id: str,
    now: datetime,
    lease_for: Callable[[str], timedelta],
) -> list[Message]:
    with session.begin():
        query = select(Row.id, Row.kind).where(condition).order_by(Row.due_at, Row.id).limit(limit)
        candidates = list(session.execute(query).all())
    taken: list[str] = []
    with write_lock(session.get_bind().engine), session.begin():
        for message_id, kind in candidates:
            result = session.connection().execute(
                update(Row)
                .where(Row.id == message_id, condition)
                .values(
                    status=MessageStatus.IN_FLIGHT,
                    attempts=Row.attempts + 1,
                    lease_until=now + lease_for(kind),
                    claimed_by=worker_id,
                    updated_at=now,
                )
            )
            if result.rowcount == 1:
                taken.append(message_id)
        rows = session.scalars(select(Row).where(Row.id.in_(taken)).order_by(Row.due_at, Row.id))
        return [_message(row) for row in rows]


def _take(row: Row, worker_id: str, now: datetime, lease: timedelta) -> None:
    row.status = MessageStatus.IN_FLIGHT
    row.attempts += 1
    row.lease_until = now + lease
    row.claimed_by = worker_id
    row.updated_at = now


def _message(row: Row) -> Message:
    return Message(row.id, row.kind, row.key, dict(row.payload), row.attempts)


def settle(session: Session, message: Message, worker_id: str, values: Mapping[str, Any]) -> bool:
    """Write the outcome if this worker's claim still holds; False when another worker took it over."""
    result = session.connection().execute(
        update(Row)
        .where(
            Row.id == message.id,
            Row.status == MessageStatus.IN_FLIGHT,
            Row.claimed_by == worker_id,
            Row.attempts == message.attempts,
        )
        .values(**values)
    )
    return result.rowcount == 1
