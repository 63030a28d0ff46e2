"""Take in orders the webhooks missed, by paging through the Admin API's orders since a date.

Every order goes through the same `sync_order` as a webhook delivery, so running it twice, or over
orders the webhooks already brought, changes nothing (an equal `updated_at` is a no-op).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify.admin import ShopifyAdmin
from microfactory.channels.shopify.mapping import PayloadError
from microfactory.channels.shopify.order_sync import sync_order
from microfactory.db.unit_of_work import UnitOfWork


@dataclass
class ReconcileReport:
    seen: int = 0
    actions: dict[str, int] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)

    def count(self, action: str) -> int:
        return self.actions.get(action, 0)


def reconcile(
    factory: sessionmaker[Session],
    admin: ShopifyAdmin,
    since: datetime,
    progress: Callable[[], None] | None = None,
) -> ReconcileReport:
    """Sync every order updated since `since`; one transaction per order, so progress is kept.

    `progress` is called once per order read (Shopify does not say how many there will be).
    """
    report = ReconcileReport()
    for payload in admin.orders_updated_since(since):
        report.seen += 1
        if progress is not None:
            progress()
        with UnitOfWork(factory) as uow:
            try:
                outcome = sync_order(uow, payload)
            except PayloadError as error:
                report.refused.append(f"{payload.get('id')}: {error.summary}")
                continue
            uow.commit()
        report.actions[outcome.action] = report.actions.get(outcome.action, 0) + 1
    return report
