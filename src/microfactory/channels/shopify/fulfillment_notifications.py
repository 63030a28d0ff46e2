"""Shopify's fulfillment-service notifications, acknowledged at once and worked off in the background.

A notification says only "requests of kind K wait for you"; answering it means paging the Admin
API (`fulfillment_service.handle_notification`), which may be slow or throttled. So the callback
only records the notification as an outbox message of kind `shopify.fulfillment_requests` and
answers 200; the outbox dispatcher does the pass later, outside the request.

Overlapping notifications merge: the message for kind K is keyed `K:after:<the last pass of K
that has started>`, so every notification that arrives before the next pass starts lands on the
same key, and the outbox's unique (kind, key) makes it one message even when two requests race
on PostgreSQL. A captured notification replayed a thousand times therefore costs at most one
pass of idempotent work per pass already under way, never a storm; one arriving while a pass runs
gets a pass of its own after it, so nothing Shopify asks for is missed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify import fulfillment_service
from microfactory.channels.shopify.admin import ShopifyAdmin
from microfactory.db.tables.outbox import OutboxMessageRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.outbox import store
from microfactory.outbox.claim import Message
from microfactory.outbox.dispatcher import Handler
from microfactory.outbox.model import CLAIMABLE

KIND = "shopify.fulfillment_requests"


def note_notification(uow: UnitOfWork, kind: str) -> tuple[str, bool]:
    """Record that a notification of `kind` arrived; (message id, whether it merged into a waiting one).

    Runs in the caller's transaction; the caller commits. No Admin API call is made here.
    """
    key = f"{kind}:after:{_last_started(uow, kind) or 'none'}"
    waiting = uow.session.scalar(
        select(OutboxMessageRow.id).where(OutboxMessageRow.kind == KIND, OutboxMessageRow.key == key)
    )
    message_id = store.enqueue(uow, KIND, key, {"kind": kind})
    return message_id, waiting is not None


def _last_started(uow: UnitOfWork, kind: str) -> str | None:
    """The newest message of `kind` whose pass has started (claimed, done, dead, unknown outcome)."""
    query = (
        select(OutboxMessageRow.id)
        .where(
            OutboxMessageRow.kind == KIND,
            OutboxMessageRow.key.startswith(f"{kind}:", autoescape=True),
            OutboxMessageRow.status.not_in([str(status) for status in CLAIMABLE]),
        )
        .order_by(OutboxMessageRow.created_at.desc(), OutboxMessageRow.id.desc())
        .limit(1)
    )
    return uow.session.scalar(query)


def notification_handler(factory: sessionmaker[Session], admin: ShopifyAdmin) -> Handler:
    """The outbox handler of `shopify.fulfillment_requests`: one pass over the assigned requests.

    The pass is idempotent (an answered request is no longer assigned, and the decision rows are
    upserts), so a repeat after a lost lease does no harm. Admin API failures are `UpstreamFailure`s
    and follow the outbox's backoff.
    """

    def send(message: Message) -> dict[str, Any]:
        kind = str(message.payload["kind"])
        decisions = fulfillment_service.handle_notification(factory, admin, kind)
        return {"kind": kind, "decisions": [decision.as_dict() for decision in decisions]}

    return Handler(send=send)
