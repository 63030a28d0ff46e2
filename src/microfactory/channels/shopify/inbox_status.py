"""What the webhook inbox holds: counts by status, how far processing is behind, what failed.

An operator's view (`GET /api/v1/shopify/inbox`, `microfactory shopify inbox`): a delivery that
could not become an order stays in the inbox as `failed` with its reason, and this is where it shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from microfactory.channels.shopify.inbox import DUPLICATE, FAILED, PROCESSED, PROCESSING, RECEIVED
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.unit_of_work import UnitOfWork

STATUSES = (RECEIVED, PROCESSING, PROCESSED, DUPLICATE, FAILED)


@dataclass(frozen=True)
class InboxStatus:
    counts: dict[str, int]
    oldest_pending: datetime | None  # when the oldest delivery still waiting was received
    failed: list[dict[str, Any]]  # the newest failures first

    @property
    def pending(self) -> int:
        return self.counts[RECEIVED] + self.counts[PROCESSING]

    def as_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "pending": self.pending,
            "oldest_pending_received_at": self.oldest_pending.isoformat() if self.oldest_pending else None,
            "failed": self.failed,
        }


def inbox_status(uow: UnitOfWork, failed_limit: int = 20) -> InboxStatus:
    row = WebhookDeliveryRow
    counts = dict.fromkeys(STATUSES, 0)
    for status, count in uow.session.execute(select(row.status, func.count()).group_by(row.status)):
        counts[status] = int(count)
    oldest = uow.session.scalar(
        select(func.min(row.received_at)).where(row.status.in_((RECEIVED, PROCESSING)))
    )
    failures = uow.session.scalars(
        select(row).where(row.status == FAILED).order_by(row.id.desc()).limit(failed_limit)
    )
    return InboxStatus(counts, oldest, [_failure(f) for f in failures])


def _failure(row: WebhookDeliveryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "webhook_id": row.webhook_id,
        "event_id": row.event_id,
        "topic": row.topic,
        "order_external_id": row.order_external_id,
        "error": row.error,
        "attempts": row.attempts,
        "received_at": row.received_at.isoformat(),
        "processed_at": row.processed_at.isoformat() if row.processed_at else None,
    }
