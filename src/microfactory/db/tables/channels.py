"""Channel tables: the Shopify webhook inbox, fulfilment back-sync records and fulfillment requests.

The inbox row is written before anything else happens to a delivery, so a crash after the answer
to Shopify loses nothing; its unique webhook id makes a retried delivery a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from microfactory.db.base import Base, utcnow


class WebhookDeliveryRow(Base):
    """One signed delivery as received: status received | processing | processed | duplicate | failed."""

    __tablename__ = "shopify_webhook_deliveries"
    __table_args__ = (Index("ix_shopify_webhook_deliveries_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    webhook_id: Mapped[str] = mapped_column(String(120), unique=True)
    event_id: Mapped[str | None] = mapped_column(String(120), index=True)
    topic: Mapped[str] = mapped_column(String(80))
    shop_domain: Mapped[str] = mapped_column(String(255), default="")
    api_version: Mapped[str | None] = mapped_column(String(20))
    triggered_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    order_external_id: Mapped[str | None] = mapped_column(String(120), index=True)
    body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    attempts: Mapped[int] = mapped_column(default=0)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    processed_at: Mapped[datetime | None]


class FulfilmentSyncRow(Base):
    """A parcel reported to Shopify; its `idempotency_key` (unique within its order) makes a second
    request for it a no-op. The outbox message of kind `shopify.fulfilment` carries the sending."""

    __tablename__ = "shopify_fulfilment_syncs"
    __table_args__ = (
        UniqueConstraint("order_id", "idempotency_key", name="uq_shopify_fulfilment_syncs_order_key"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120))
    order_id: Mapped[str] = mapped_column(String(40), index=True)
    shopify_order_id: Mapped[str] = mapped_column(String(120))
    order_name: Mapped[str | None] = mapped_column(String(120))
    tracking_number: Mapped[str] = mapped_column(String(120))
    tracking_company: Mapped[str | None] = mapped_column(String(120))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    # What the parcel holds: [{"line_id", "qty", "line_item_id"}]; None is everything still open.
    lines: Mapped[list[Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending | sent | failed | unknown
    shopify_fulfillment_id: Mapped[str | None] = mapped_column(String(120))
    shopify_fulfillment_name: Mapped[str | None] = mapped_column(String(120), index=True)  # "#1042.2"
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class FulfillmentRequestRow(Base):
    """Our answer to a fulfillment or cancellation request on one Shopify fulfillment order."""

    __tablename__ = "shopify_fulfillment_requests"
    __table_args__ = (UniqueConstraint("fulfillment_order_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    fulfillment_order_id: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(30))  # FULFILLMENT_REQUEST | CANCELLATION_REQUEST
    shopify_order_id: Mapped[str | None] = mapped_column(String(120), index=True)
    order_name: Mapped[str | None] = mapped_column(String(120))
    decision: Mapped[str] = mapped_column(String(20))  # accepted | rejected
    message: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
