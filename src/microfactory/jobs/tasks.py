"""The jobs: inbox processing, routing, outbox dispatch, and taking up the jobs of a dead worker.

Each job is a sweep of durable rows (stored deliveries, released work orders, due outbox messages),
so running one twice does no harm and one that was never deferred is caught by the next periodic
run. What makes every piece of work happen once is the claim on the rows themselves
(`SKIP LOCKED`, leases, the routing advisory lock); the queue makes it happen soon, retried with
backoff, and spread over every worker process. A job that filled its batch defers the next one.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from procrastinate import App, JobContext, RetryStrategy, exceptions
from procrastinate.jobs import Status

from microfactory.channels.shopify.inbox import process_pending
from microfactory.jobs.defer import INBOX, OUTBOX, ROUTE, defer_in_session
from microfactory.network.routing_worker import route_released
from microfactory.outbox.dispatcher import Handlers, dispatch_due

if TYPE_CHECKING:
    from microfactory.bootstrap import Container

log = logging.getLogger(__name__)

INBOX_BATCH = 200  # deliveries per job; a full batch defers the next job at once
OUTBOX_BATCH = 100
STALLED = "mf:stalled"
RETRY = RetryStrategy(max_attempts=8, exponential_wait=2)  # waits 2, 4, 8 ... 256 s


def every(seconds: float) -> str:
    """A cron with a seconds field (croniter's sixth) for a period in whole seconds, at least 1."""
    return f"* * * * * */{max(1, min(59, round(seconds)))}"


def register(app: App, container: Container) -> None:
    """Add the jobs to `app`, with periods from the container's settings."""
    settings = container.settings

    @app.periodic(cron=every(5), periodic_id="inbox")
    @app.task(name=INBOX, queueing_lock=INBOX, retry=RETRY, pass_context=True)
    def process_inbox(context: JobContext, timestamp: int | None = None) -> int:
        """Turn stored webhook deliveries into orders, one transaction per batch."""
        if not settings.shopify.inbox_autoprocess:
            return 0
        with container.unit_of_work() as uow:
            report = process_pending(uow, INBOX_BATCH)
        if report.total + report.retried >= INBOX_BATCH:
            _defer_next(container, INBOX)
        return report.total

    @app.periodic(cron=every(settings.routing.interval_seconds), periodic_id="route")
    @app.task(name=ROUTE, queueing_lock=ROUTE, lock=ROUTE, retry=RETRY, pass_context=True)
    def route(context: JobContext, timestamp: int | None = None) -> int:
        """Route released work orders and pass on offers whose time ran out."""
        if not settings.routing.auto_route:
            return 0
        with container.unit_of_work() as uow:
            return route_released(uow)

    @app.periodic(cron=every(settings.outbox_interval_seconds or 5), periodic_id="outbox")
    @app.task(name=OUTBOX, queueing_lock=OUTBOX, retry=RETRY, pass_context=True)
    def dispatch_outbox(context: JobContext, timestamp: int | None = None) -> int:
        """Send due outbox messages (store and carrier calls) with this worker's handlers."""
        handlers: Handlers | None = context.additional_context.get("outbox_handlers")
        if handlers is None or not handlers.kinds:
            return 0
        report = dispatch_due(container.session_factory, handlers, limit=OUTBOX_BATCH)
        if len(report.outcomes) >= OUTBOX_BATCH:
            _defer_next(container, OUTBOX)
        return len(report.outcomes)

    @app.periodic(cron=every(max(1.0, settings.jobs.stalled_seconds / 3)), periodic_id="stalled")
    @app.task(name=STALLED, queueing_lock=STALLED, pass_context=True)
    async def retry_stalled(context: JobContext, timestamp: int | None = None) -> int:
        """Jobs of a worker that stopped sending heartbeats (killed) run again, once."""
        manager = context.app.job_manager
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=settings.jobs.stalled_seconds)
        for job in stalled:
            await _retry(context.app, job)
        return len(list(stalled))


async def _retry(app: App, job: Any) -> None:
    """Put a stalled job back in the queue; when one of its kind already waits, that one does the work."""
    try:
        await app.job_manager.retry_job(job)
        log.warning("job %s (%s) of a dead worker is queued again", job.id, job.task_name)
    except exceptions.ConnectorException:
        await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
        log.warning("job %s (%s) of a dead worker: one of its kind already waits", job.id, job.task_name)


def _defer_next(container: Container, task: str) -> None:
    with container.unit_of_work() as uow:
        defer_in_session(uow.session, task)
        uow.commit()
