"""The webhook inbox: store each signed delivery durably first, process it after.

After checking the signature the HTTP handler only reads the headers, checks the body is a JSON
object, and stores it: an INSERT, unique on the webhook id, committed (in a small batch with its
neighbours, see `InboxWriter`) before Shopify gets its 200. `process_pending` (run by the in-process
`InboxWorker`, by the `mf:inbox` job and by `microfactory shopify process-inbox`) turns stored
deliveries into orders, one transaction per batch, so a crash at any point loses nothing and repeats
nothing: the batch's transaction rolls back and its deliveries, still `received`, are taken up again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Connection, Table, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from microfactory.channels.shopify.inbox_batch import Candidate, alone, create_new_orders
from microfactory.channels.shopify.mapping import PayloadError, order_id, parse_time
from microfactory.channels.shopify.order_sync import sync_order
from microfactory.db.base import utcnow
from microfactory.db.locks import become_writer
from microfactory.db.tables.channels import WebhookDeliveryRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.problems import Problem

log = logging.getLogger(__name__)

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid", "orders/cancelled"})
RECEIVED, PROCESSING, PROCESSED, DUPLICATE, FAILED = (
    "received",
    "processing",
    "processed",
    "duplicate",
    "failed",
)
LEASE = timedelta(seconds=30)  # a `processing` row this old was left by an earlier version's dead process
MAX_ATTEMPTS = 5  # transient failures (a locked database) are retried this often, then marked failed
KEPT_HEADERS = (
    "x-shopify-topic",
    "x-shopify-webhook-id",
    "x-shopify-event-id",
    "x-shopify-shop-domain",
    "x-shopify-api-version",
    "x-shopify-triggered-at",
)


@dataclass(frozen=True)
class Delivery:
    """A verified delivery as the endpoint received it (the signature was checked before this)."""

    webhook_id: str
    topic: str
    body: str  # the raw body, checked to be UTF-8 JSON
    order_external_id: str | None = None  # the order the body is about, when it is one
    shop_domain: str = ""
    event_id: str | None = None
    api_version: str | None = None
    triggered_at: datetime | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Read Shopify's `X-Shopify-*` headers (lower-case names) and check the body is a JSON object.

        Raises `PayloadError` naming each problem: a delivery without its ids cannot be deduplicated,
        and a body that is not JSON can never become an order, so neither is stored.
        """
        webhook_id = (headers.get("x-shopify-webhook-id") or "").strip()[:120]
        topic = (headers.get("x-shopify-topic") or "").strip()[:80]
        missing = [
            Problem(f"headers.{name}", "the header is required")
            for name, value in (("X-Shopify-Webhook-Id", webhook_id), ("X-Shopify-Topic", topic))
            if not value
        ]
        if missing:
            raise PayloadError("the delivery lacks Shopify's headers", missing)
        payload = read_payload(body)
        return cls(
            webhook_id=webhook_id,
            topic=topic,
            body=body.decode("utf-8"),
            order_external_id=_order_id(payload) if topic in ORDER_TOPICS else None,
            shop_domain=(headers.get("x-shopify-shop-domain") or "").strip()[:255],
            event_id=(headers.get("x-shopify-event-id") or "").strip()[:120] or None,
            api_version=(headers.get("x-shopify-api-version") or "").strip()[:20] or None,
            triggered_at=parse_time(headers.get("x-shopify-triggered-at")),
            headers={name: headers[name][:300] for name in KEPT_HEADERS if name in headers},
        )


def read_payload(body: bytes | str) -> dict[str, Any]:
    """The body as a JSON object; `PayloadError` says why when it is not one."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise PayloadError("the body is not valid JSON", [Problem("", str(error))]) from None
    if not isinstance(payload, dict):
        raise PayloadError("the body is not valid JSON", [Problem("", "the body is not a JSON object")])
    return payload


def _order_id(payload: dict[str, Any]) -> str | None:
    try:
        return order_id(payload)
    except PayloadError:
        return None  # kept: processing marks it failed and says why


@dataclass(frozen=True)
class Stored:
    delivery_id: int | None
    status: str  # received | duplicate


def store_deliveries(connection: Connection, deliveries: list[Delivery]) -> list[Stored]:
    """Insert a batch of deliveries in one statement; duplicates store nothing. The caller commits.

    `INSERT .. ON CONFLICT (webhook_id) DO NOTHING RETURNING` tells which rows went in: a webhook
    id that returns nothing was there before (or earlier in the same batch).
    """
    rows = [_row(delivery) for delivery in deliveries]
    insert = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    table = cast(Table, WebhookDeliveryRow.__table__)
    statement = (
        insert(table)
        .on_conflict_do_nothing(index_elements=["webhook_id"])
        .returning(table.c.id, table.c.webhook_id)
    )  # one cached statement, run for many rows at once ("insertmanyvalues")
    inserted = {webhook_id: row_id for row_id, webhook_id in connection.execute(statement, rows)}
    stored: list[Stored] = []
    for row in rows:
        row_id = inserted.pop(row["webhook_id"], None)
        stored.append(Stored(None, DUPLICATE) if row_id is None else Stored(row_id, RECEIVED))
    return stored


def _row(delivery: Delivery) -> dict[str, Any]:
    return {
        "webhook_id": delivery.webhook_id,
        "event_id": delivery.event_id,
        "topic": delivery.topic,
        "shop_domain": delivery.shop_domain,
        "api_version": delivery.api_version,
        "triggered_at": delivery.triggered_at,
        "status": RECEIVED,
        "error": None,
        "order_external_id": delivery.order_external_id,
        "body": delivery.body,
        "headers": dict(delivery.headers),
        "attempts": 0,
        "received_at": utcnow(),
        "claimed_at": None,
        "processed_at": None,
    }


@dataclass
class ProcessReport:
    processed: int = 0
    duplicates: int = 0
    failed: int = 0
    retried: int = 0
    actions: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.processed + self.duplicates + self.failed


_processing = threading.Lock()  # one processor per process: SQLite has one writer anyway
BATCH = {"postgresql": 50, "sqlite": 8}  # deliveries per transaction (SQLite: short write turns)


def process_pending(
    uow: UnitOfWork,
    limit: int = 1000,
    retry_failed: bool = False,
    between: Callable[[], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> ProcessReport:
    """Process stored deliveries in arrival order, a batch per transaction; safe to run anywhere.

    Several processes may run this at once (job workers, the CLI): a batch is claimed and worked in
    one transaction, its rows locked `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has one writer),
    so each delivery is worked by one of them, and a process killed mid-batch leaves nothing done:
    its transaction rolls back and the rows are free at once. Each delivery runs in a savepoint, so
    one that fails is marked failed without undoing its neighbours. `stop` is asked between batches.
    """
    report = ProcessReport()
    size = BATCH.get(uow.engine.dialect.name, 8)
    with _processing:
        if retry_failed:
            uow.session.execute(
                update(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.status == FAILED, WebhookDeliveryRow.order_external_id.is_not(None))
                .values(status=RECEIVED, attempts=0)
            )
            uow.commit()
        while report.total + report.retried < limit:
            if stop is not None and stop():
                break
            wanted = min(size, limit - report.total - report.retried)
            with uow.write_turn():
                worked = _process_batch(uow, wanted, report)
            if between is not None:
                between()
            if worked < wanted:
                break
    return report


def _process_batch(uow: UnitOfWork, size: int, report: ProcessReport) -> int:
    """Claim up to `size` deliveries, work them, commit once; how many were claimed.

    The batch's new orders are created together (`inbox_batch`); every other delivery is worked
    alone in a savepoint, in arrival order. Which events were processed before is read once.
    """
    become_writer(uow.session)
    rows = _claim_batch(uow.session, size)
    seen = _events_seen(uow.session, rows)
    created = create_new_orders(uow, _fresh_candidates(rows, seen))
    for row in rows:
        if row.id in created:
            _finish(row, PROCESSED, None)
            report.processed += 1
            report.actions["order created"] = report.actions.get("order created", 0) + 1
            _note_event(row, seen)
        else:
            _process_one(uow, row, report, seen)
    uow.commit()
    return len(rows)


def _fresh_candidates(rows: list[WebhookDeliveryRow], seen: set[str]) -> list[Candidate]:
    """Order deliveries that may create their order at once: alone in the batch, event unseen, JSON."""
    candidates: list[Candidate] = []
    for row in alone(rows):
        if row.topic not in ORDER_TOPICS or (row.event_id and row.event_id in seen):
            continue
        try:
            candidates.append((row, read_payload(row.body)))
        except PayloadError:
            continue  # the per-delivery path records why
    return candidates


def _events_seen(session: Session, rows: list[WebhookDeliveryRow]) -> set[str]:
    """The batch's event ids already processed under another webhook id (one query)."""
    events = {row.event_id for row in rows if row.event_id}
    if not events:
        return set()
    return set(
        session.scalars(
            select(WebhookDeliveryRow.event_id).where(
                WebhookDeliveryRow.event_id.in_(events), WebhookDeliveryRow.status == PROCESSED
            )
        )
    )


def _note_event(row: WebhookDeliveryRow, seen: set[str]) -> None:
    if row.event_id:
        seen.add(row.event_id)


def _claim_batch(session: Session, size: int) -> list[WebhookDeliveryRow]:
    """The next deliveries nobody else works on (or whose worker left them long ago), locked."""
    stale = utcnow() - LEASE
    query = (
        select(WebhookDeliveryRow)
        .where(
            or_(
                WebhookDeliveryRow.status == RECEIVED,
                (WebhookDeliveryRow.status == PROCESSING) & (WebhookDeliveryRow.claimed_at < stale),
            )
        )
        .order_by(WebhookDeliveryRow.id)
        .limit(size)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    rows = list(session.scalars(query))
    now = utcnow()
    for row in rows:
        row.status, row.claimed_at, row.attempts = PROCESSING, now, row.attempts + 1
    return rows


def _process_one(uow: UnitOfWork, row: WebhookDeliveryRow, report: ProcessReport, seen: set[str]) -> None:
    if row.event_id and row.event_id in seen:
        _finish(row, DUPLICATE, f"event {row.event_id} was processed under another webhook id")
        report.duplicates += 1
        return
    try:
        with uow.session.begin_nested():
            action = _apply(uow, row.topic, row.body)
    except PayloadError as error:
        _finish(row, FAILED, "; ".join([error.summary, *(str(p) for p in error.problems)]))
        report.failed += 1
        return
    except OperationalError as error:  # a lock or deadlock: try again later, a few times
        if row.attempts >= MAX_ATTEMPTS:
            _finish(row, FAILED, f"database error after {row.attempts} attempts: {error.orig}")
            report.failed += 1
        else:
            _finish(row, RECEIVED, f"will retry: {error.orig}")
            report.retried += 1
        return
    except Exception as error:  # an unexpected bug must not stop the inbox: keep it visible instead
        log.exception("shopify delivery %s failed", row.id)
        _finish(row, FAILED, f"{type(error).__name__}: {error}")
        report.failed += 1
        return
    _finish(row, PROCESSED, None if action.startswith("order") else action)
    _note_event(row, seen)
    report.processed += 1
    report.actions[action] = report.actions.get(action, 0) + 1


def _apply(uow: UnitOfWork, topic: str, body: str) -> str:
    """Bring the order to the state its body describes; returns what happened (e.g. `order created`).

    The topic only says whether the body is an order: Shopify signs the body, not the headers, so
    a genuine body replayed under `orders/cancelled` must not cancel anything. Whether an order is
    cancelled comes from the body's `cancelled_at`, and its `updated_at` orders the changes.
    """
    if topic not in ORDER_TOPICS:
        return f"topic {topic!r} is not handled; stored only"
    outcome = sync_order(uow, read_payload(body))
    return f"order {outcome.action}"


def _finish(row: WebhookDeliveryRow, status: str, error: str | None) -> None:
    row.status, row.error, row.processed_at = status, error[:4000] if error else None, utcnow()
