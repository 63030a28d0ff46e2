"""Writing and reading outbox messages: enqueue in the caller's transaction, list, retry by hand.

`enqueue` is idempotent by (kind, key), guarded by a unique constraint so that two transactions
enqueueing the same effect at once still make one message: the same key with the same payload is
the same message, the same key with another payload is a `Conflict` (two different effects must not
hide behind one key).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from microfactory.db.base import new_id, utcnow
from microfactory.db.tables.outbox import OutboxMessageRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, Invalid, NotFound
from microfactory.jobs.defer import OUTBOX, defer_in_session
from microfactory.outbox.model import RETRYABLE_BY_HAND, MessageStatus
from microfactory.problems import Problem

MAX_KEY = 200


def enqueue(uow: UnitOfWork, kind: str, key: str, payload: Mapping[str, Any]) -> str:
    """Record an outbound effect in the caller's transaction; the message id (the same for a repeat)."""
    if not kind or not key or len(key) > MAX_KEY:
        raise Invalid(
            "an outbox message needs a kind and a key", [Problem("key", f"1 to {MAX_KEY} characters")]
        )
    document = _as_json(payload)
    existing = _find(uow, kind, key)
    if existing is not None:
        return _same(existing, document)
    row = OutboxMessageRow(
        id=new_id("obx"),
        kind=kind,
        key=key,
        payload=document,
        status=MessageStatus.PENDING,
        attempts=0,
        due_at=utcnow(),
    )
    try:
        with uow.session.begin_nested():
            uow.session.add(row)
    except IntegrityError:  # enqueued concurrently under the same key
        found = _find(uow, kind, key)
        if found is None:
            raise
        return _same(found, document)
    defer_in_session(uow.session, OUTBOX)  # PostgreSQL: a worker sends it soon after the commit
    return row.id


def _as_json(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as the JSON column gives it back, so a repeat compares equal to what was stored."""
    try:
        return dict(json.loads(json.dumps(payload, sort_keys=True)))
    except (TypeError, ValueError) as error:
        raise Invalid("an outbox payload must be JSON", [Problem("payload", str(error))]) from error


def _find(uow: UnitOfWork, kind: str, key: str) -> OutboxMessageRow | None:
    query = select(OutboxMessageRow).where(OutboxMessageRow.kind == kind, OutboxMessageRow.key == key)
    return uow.session.scalar(query)


def _same(row: OutboxMessageRow, payload: dict[str, Any]) -> str:
    if row.payload != payload:
        raise Conflict(f"outbox key {row.kind}/{row.key} is taken by message {row.id} with another payload")
    return row.id


def get_message(uow: UnitOfWork, message_id: str) -> OutboxMessageRow:
    """One message, or `NotFound`."""
    row = uow.session.get(OutboxMessageRow, message_id)
    if row is None:
        raise NotFound("outbox message", message_id)
    return row


def list_messages(
    uow: UnitOfWork, status: str | None = None, kind: str | None = None, limit: int = 200
) -> list[OutboxMessageRow]:
    """Messages newest first, optionally of one status or kind: the operator's view."""
    if status is not None and status not in set(MessageStatus):
        choices = ", ".join(MessageStatus)
        raise Invalid("unknown outbox status", [Problem("status", f"{status!r} is not one of {choices}")])
    query = select(OutboxMessageRow)
    if status is not None:
        query = query.where(OutboxMessageRow.status == status)
    if kind is not None:
        query = query.where(OutboxMessageRow.kind == kind)
    query = query.order_by(OutboxMessageRow.created_at.desc(), OutboxMessageRow.id.desc()).limit(limit)
    return list(uow.session.scalars(query))


def retry(uow: UnitOfWork, message_id: str, now: datetime | None = None) -> OutboxMessageRow:
    """A person sends a failed, dead or unknown-outcome message again, with a fresh set of attempts.

    The only way out of `unknown_outcome`: the person has checked that the effect did not happen (or
    that it is safe to repeat). Anything pending, in flight or done is refused with `Conflict`.
    """
    row = get_message(uow, message_id)
    if row.status not in RETRYABLE_BY_HAND:
        raise Conflict(f"outbox message {row.id} is {row.status}: only failed, dead or unknown_outcome retry")
    row.status = MessageStatus.PENDING
    row.attempts = 0
    row.due_at = now or utcnow()
    row.lease_until = None
    row.claimed_by = None
    row.finished_at = None
    return row


def message_view(row: OutboxMessageRow) -> dict[str, Any]:
    """A message as JSON for the API and CLI."""

    def at(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": row.id,
        "kind": row.kind,
        "key": row.key,
        "status": row.status,
        "attempts": row.attempts,
        "due_at": at(row.due_at),
        "lease_until": at(row.lease_until),
        "claimed_by": row.claimed_by,
        "last_error": row.last_error,
        "payload": row.payload,
        "result": row.result,
        "created_at": at(row.created_at),
        "finished_at": at(row.finished_at),
    }
