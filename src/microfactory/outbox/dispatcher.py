"""Dispatching due outbox messages to their handlers by kind, outside any database transaction.

One round: claim due messages (committed), then for each run its handler with no transaction open
(a slow store must not hold a lock or a connection), then record the outcome in a short transaction
of its own, together with whatever the handler's `record` writes (the fulfillment id on the parcel
record). A success is `done`; a failure waits for its backoff (`failed`) or, its attempts spent,
is `dead`; `UpstreamFailure(retryable=False)` means the handler cannot tell whether the effect
happened, so the message is parked as `unknown_outcome` for a person.

The handler may run more than once for one message (a worker killed after the effect and before
the record, or one that outlived its lease), so handlers are idempotent: they check the far side
first or send an idempotency key. This is the seam a job queue plugs into (decision 0007): it
would call `dispatch_due` per kind from its workers instead of a loop or a command.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from microfactory.db.base import utcnow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict, MicrofactoryError, UpstreamFailure
from microfactory.outbox.claim import Message, claim, settle
from microfactory.outbox.model import Backoff, MessageStatus, after_failure

Send = Callable[[Message], Mapping[str, Any] | None]
Record = Callable[[UnitOfWork, "Outcome"], None]
DEFAULT_LEASE = timedelta(minutes=5)
DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True)
class Handler:
    """How one kind is sent: `send` does the effect, `record` writes its trace in our database.

    `send` runs outside any transaction and returns a small JSON result (kept on the message);
    `record` runs inside the transaction that records the outcome, for every outcome.
    """

    send: Send
    record: Record | None = None
    backoff: Backoff = DEFAULT_BACKOFF
    lease: timedelta = DEFAULT_LEASE


class Handlers:
    """The registry by kind: what the dispatcher may claim, and who handles it."""

    def __init__(self, handlers: Mapping[str, Handler] | None = None) -> None:
        self._by_kind: dict[str, Handler] = {}
        for kind, handler in (handlers or {}).items():
            self.register(kind, handler)

    def register(self, kind: str, handler: Handler) -> None:
        if kind in self._by_kind:
            raise Conflict(f"outbox kind {kind} already has a handler")
        self._by_kind[kind] = handler

    def __getitem__(self, kind: str) -> Handler:
        return self._by_kind[kind]

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._by_kind)


@dataclass(frozen=True)
class Outcome:
    """What one attempt made of a message; `recorded` is False when another worker had taken it over."""

    message: Message
    status: MessageStatus
    result: Mapping[str, Any] | None = None
    error: str | None = None
    due_at: datetime | None = None
    recorded: bool = True


@dataclass
class DispatchReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: MessageStatus) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status and outcome.recorded)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(str(o.status) for o in self.outcomes if o.recorded))


def default_worker_id() -> str:
    """Host, process and a random part: unique per dispatcher, readable in `outbox list`."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dispatch_due(
    factory: sessionmaker[Session],
    handlers: Handlers,
    *,
    kinds: Iterable[str] | None = None,
    limit: int = 100,
    worker_id: str | None = None,
    now: datetime | None = None,
    ignore_backoff: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> DispatchReport:
    """Claim up to `limit` due messages of `kinds` (default: every kind with a handler) and send them.

    `now` fixes the clock (tests); `ignore_backoff` also takes messages still waiting for their
    backoff, for a person who asks for a sync now. `progress(done, total)` is called before each
    message and once at the end.
    """
    wanted = handlers.kinds if kinds is None else handlers.kinds & set(kinds)
    worker = worker_id or default_worker_id()
    claimed = claim(
        factory,
        sorted(wanted),
        limit=limit,
        worker_id=worker,
        now=now or utcnow(),
        lease_for=lambda kind: handlers[kind].lease,
        ignore_backoff=ignore_backoff,
    )
    report = DispatchReport()
    for done, message in enumerate(claimed):
        if progress is not None:
            progress(done, len(claimed))
        handler = handlers[message.kind]
        outcome = _attempt(handler, message, now)
        report.outcomes.append(_record(factory, handler, outcome, worker, now))
    if progress is not None:
        progress(len(claimed), len(claimed))
    return report


def _attempt(handler: Handler, message: Message, now: datetime | None) -> Outcome:
    """Run the handler with no transaction open, and say where the message goes next."""
    try:
        result = handler.send(message)
    except Exception as error:  # any failure of the effect is the message's, never the dispatcher's
        retryable = not (isinstance(error, UpstreamFailure) and not error.retryable)
        failure = after_failure(message.attempts, now or utcnow(), handler.backoff, retryable=retryable)
        return Outcome(message, failure.status, error=_describe(error), due_at=failure.due_at)
    return Outcome(message, MessageStatus.DONE, result=dict(result or {}))


def _describe(error: Exception) -> str:
    text = str(error) if isinstance(error, MicrofactoryError) else f"{type(error).__name__}: {error}"
    return text[:4000]


def _record(
    factory: sessionmaker[Session], handler: Handler, outcome: Outcome, worker: str, now: datetime | None
) -> Outcome:
    """Write the outcome and the handler's record in one transaction, if the claim still holds."""
    at = now or utcnow()
    values: dict[str, Any] = {"status": outcome.status, "lease_until": None, "updated_at": at}
    if outcome.status == MessageStatus.DONE:
        values.update(result=outcome.result, last_error=None, finished_at=at)
    else:
        values["last_error"] = outcome.error
        if outcome.due_at is not None:
            values["due_at"] = outcome.due_at
    with UnitOfWork(factory) as uow, uow.write_turn():
        if not settle(uow.session, outcome.message, worker, values):
            uow.rollback()
            return Outcome(outcome.message, outcome.status, outcome.result, outcome.error, None, False)
        if handler.record is not None:
            handler.record(uow, outcome)
        uow.commit()
    return outcome
