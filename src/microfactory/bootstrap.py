"""The composition root: everything a process needs, built once from `Settings`.

The API (`create_app`), the CLI (`cli.context.container`), the demo and the edge agent all start
from `bootstrap()`: one engine and session factory, the domain-event subscriptions, the adapters the
settings choose (the Shopify Admin API client when it is configured), and the background workers a
server runs. Nothing is made lazily somewhere else, so a test can build the whole process with its
own settings and engine and see exactly what production would run.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from microfactory.channels.shopify import fulfillment_notifications, fulfilment_sync
from microfactory.channels.shopify.admin import ShopifyAdmin
from microfactory.channels.shopify.inbox_workers import InboxWorker, InboxWriter
from microfactory.config import Settings, get_settings
from microfactory.db.engine import make_engine, make_session_factory
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import MissingSetting
from microfactory.jobs.defer import route_soon
from microfactory.jobs.worker import JobThread
from microfactory.logistics.carrier_book import CarrierBook
from microfactory.logistics.handoff import Handoff
from microfactory.logistics.model import BreakerPolicy
from microfactory.logistics.packing import HANDOFF_KIND
from microfactory.logistics.polling import TrackingWorker
from microfactory.network.routing_worker import RoutingWorker
from microfactory.network.service import register_event_handlers
from microfactory.orders import events
from microfactory.outbox.dispatcher import Handlers
from microfactory.outbox.worker import HandlersFor, OutboxWorker
from microfactory.production.telemetry.subscriber import BrokerAddress, TelemetrySubscriber, subscriber_for

AdminFactory = Callable[[], ShopifyAdmin]


@dataclass
class Workers:
    """The background parts of a server process; the API's lifespan starts and stops them.

    The inbox writer and worker exist from the start (a webhook may arrive before anything else);
    the routing thread is made at each `start`, since a thread runs only once.
    """

    session_factory: sessionmaker[Session]
    shopify_inbox_writer: InboxWriter
    shopify_inbox: InboxWorker | None  # None: `microfactory shopify process-inbox` does the work
    routing_interval: float | None  # None: `microfactory network route --all` does the work
    routing: RoutingWorker | None = field(default=None, init=False)
    # MICROFACTORY_TELEMETRY_LISTEN=true: the API process stores machine telemetry from MQTT
    telemetry_listener: Callable[[], TelemetrySubscriber] | None = None
    telemetry: TelemetrySubscriber | None = field(default=None, init=False)
    # set by `bootstrap` when this process dispatches the outbox (MICROFACTORY_OUTBOX_INTERVAL_SECONDS > 0)
    outbox_handlers: HandlersFor | None = None
    outbox_interval: float = 0.0
    outbox: OutboxWorker | None = field(default=None, init=False)
    # set by `bootstrap`: the parcel tracking poller (MICROFACTORY_TRACKING_INTERVAL_SECONDS > 0)
    tracking_poller: Callable[[], TrackingWorker] | None = None
    tracking: TrackingWorker | None = field(default=None, init=False)
    # on PostgreSQL with MICROFACTORY_JOBS_IN_PROCESS=true: a job worker thread instead of the above
    job_worker: Callable[[], JobThread] | None = None
    jobs: JobThread | None = field(default=None, init=False)

    def start(self) -> None:
        """Start the workers; the inbox worker takes up deliveries stored before a restart at once."""
        if self.job_worker is not None and self.jobs is None:
            self.jobs = self.job_worker()
            self.jobs.start()
        if self.shopify_inbox is not None:
            self.shopify_inbox.start()
        if self.routing_interval is not None and self.routing is None:
            self.routing = RoutingWorker(self.session_factory, self.routing_interval)
            self.routing.start()
        if self.outbox_handlers is not None and self.outbox_interval > 0 and self.outbox is None:
            self.outbox = OutboxWorker(self.session_factory, self.outbox_handlers, self.outbox_interval)
            self.outbox.start()
        if self.telemetry_listener is not None and self.telemetry is None:
            self.telemetry = self.telemetry_listener()
            self.telemetry.start()
        if self.tracking_poller is not None and self.tracking is None:
            self.tracking = self.tracking_poller()
            self.tracking.start()

    def stop(self) -> None:
        if self.tracking is not None:
            self.tracking.stop()
            self.tracking = None
        if self.jobs is not None:
            self.jobs.stop()
            self.jobs = None
        if self.outbox is not None:
            self.outbox.stop()
            self.outbox = None
        if self.telemetry is not None:
            self.telemetry.stop()
            self.telemetry = None
        if self.routing is not None:
            self.routing.stop()
            self.routing = None
        if self.shopify_inbox is not None:
            self.shopify_inbox.stop()
        self.shopify_inbox_writer.close()


@dataclass(frozen=True)
class Container:
    """What one process runs on. Its repr names no secret (settings hold them as `SecretStr`)."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    shopify_admin: AdminFactory | None  # a new client per use (each closes its connections)
    workers: Workers
    carriers: CarrierBook = field(default_factory=CarrierBook)  # one carrier per partner, per process

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work on this process's database (one per use case)."""
        return UnitOfWork(self.session_factory)

    def require_shopify_admin(self) -> ShopifyAdmin:
        """A Shopify Admin API client; `MissingSetting` names the variable when it is not configured."""
        if self.shopify_admin is None:
            return ShopifyAdmin.from_settings(self.settings)  # not configured: MissingSetting says what
        return self.shopify_admin()

    def handoff(self) -> Handoff:
        """Parcels' handoffs and tracking over this process's carriers and breaker settings."""
        logistics = self.settings.logistics
        breaker = BreakerPolicy(
            logistics.carrier_failures_to_pause, timedelta(seconds=logistics.carrier_pause_seconds)
        )
        return Handoff(self.session_factory, self.carriers, breaker=breaker)

    def outbox_handlers(self, stack: ExitStack) -> tuple[Handlers, dict[str, str]]:
        """A handler for every outbox kind this process can send with its settings, and why not the others.

        Clients opened for the handlers close with `stack`.
        """
        handlers, missing = Handlers(), {}
        handlers.register(HANDOFF_KIND, self.handoff().handler())
        try:
            admin = stack.enter_context(self.require_shopify_admin())
        except MissingSetting as error:
            missing[fulfilment_sync.KIND] = str(error)
            missing[fulfillment_notifications.KIND] = str(error)
        else:
            handlers.register(fulfilment_sync.KIND, fulfilment_sync.fulfilment_handler(admin))
            handlers.register(
                fulfillment_notifications.KIND,
                fulfillment_notifications.notification_handler(self.session_factory, admin),
            )
        return handlers, missing


def bootstrap(settings: Settings | None = None, *, engine: Engine | None = None) -> Container:
    """Build the process: engine (from settings unless given), subscriptions, adapters, workers.

    The schema is not migrated here: the API and the CLI do it once they have the container, and
    tests pass an engine that is already up to date.
    """
    subscribe_event_handlers()
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    factory = make_session_factory(engine)
    threads = not has_job_queue(engine)  # SQLite: the process's own threads do the background work
    workers = Workers(
        session_factory=factory,
        shopify_inbox_writer=InboxWriter(engine),
        shopify_inbox=InboxWorker(factory) if threads and settings.shopify.inbox_autoprocess else None,
        routing_interval=settings.routing.interval_seconds
        if threads and settings.routing.auto_route
        else None,
        telemetry_listener=_telemetry_listener(settings, engine),
    )
    container = Container(settings, engine, factory, _shopify_admin(settings), workers)
    if threads:
        workers.outbox_handlers = container.outbox_handlers
        workers.outbox_interval = settings.outbox_interval_seconds
    elif settings.jobs.in_process:
        workers.job_worker = lambda: JobThread(container)
    logistics = settings.logistics
    if logistics.tracking_interval_seconds > 0:
        stale = timedelta(minutes=logistics.tracking_stale_minutes)
        workers.tracking_poller = lambda: TrackingWorker(
            container.handoff(), logistics.tracking_interval_seconds, stale
        )
    return container


def has_job_queue(engine: Engine) -> bool:
    """PostgreSQL carries the durable job queue (decision 0018); SQLite runs the same work in threads."""
    return engine.dialect.name == "postgresql"


def _telemetry_listener(settings: Settings, engine: Engine) -> Callable[[], TelemetrySubscriber] | None:
    """The MQTT subscriber's factory when the API process is to listen (a thread runs only once)."""
    if not settings.telemetry.listen:
        return None
    BrokerAddress.parse(settings.mqtt_url)  # a wrong URL fails at start-up, not in a thread
    return lambda: subscriber_for(settings, engine)


def _shopify_admin(settings: Settings) -> AdminFactory | None:
    """The Admin API client factory when the shop and its token are configured, else None."""
    try:
        ShopifyAdmin.check_settings(settings)
    except MissingSetting:
        return None
    return lambda: ShopifyAdmin.from_settings(settings)


@cache
def subscribe_event_handlers() -> None:
    """Which capability listens to which domain event, registered once per process.

    A cancelled work order, for example, gives its reserved stock back in the same transaction.
    """
    register_event_handlers()
    events.subscribe(events.WorkOrderReleased, route_soon)
