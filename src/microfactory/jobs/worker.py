"""A job worker: `microfactory worker` in its own process, or a thread of the API process.

Several workers on several machines share one PostgreSQL queue: procrastinate fetches each job
with `FOR UPDATE SKIP LOCKED`, so one worker runs it; a worker that dies (`kill -9`) stops sending
heartbeats and its job is queued again by the `mf:stalled` job of a live worker. The worker's
outbox handlers (store and carrier clients) are opened once and closed when it stops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from contextlib import ExitStack
from typing import TYPE_CHECKING

from procrastinate import App
from procrastinate.psycopg_connector import PsycopgConnector
from sqlalchemy import Engine

from microfactory.errors import Invalid
from microfactory.jobs import tasks
from microfactory.problems import Problem

if TYPE_CHECKING:
    from microfactory.bootstrap import Container

log = logging.getLogger(__name__)


def conninfo(engine: Engine) -> str:
    """The libpq connection string of the engine's database (procrastinate speaks psycopg directly)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def require_queue(engine: Engine) -> None:
    """A durable queue needs PostgreSQL; on SQLite the API process's threads do the work."""
    if engine.dialect.name != "postgresql":
        raise Invalid(
            "the job queue needs PostgreSQL",
            [Problem("MICROFACTORY_DATABASE_URL", "on SQLite the API process runs background work itself")],
        )


def make_app(container: Container) -> App:
    """A procrastinate app on the container's database with the microfactory jobs."""
    require_queue(container.engine)
    concurrency = container.settings.jobs.concurrency
    connector = PsycopgConnector(conninfo=conninfo(container.engine), min_size=1, max_size=concurrency + 3)
    app = App(connector=connector)
    tasks.register(app, container)
    return app


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def run(container: Container, *, signals: bool = True, name: str | None = None) -> None:
    """Run jobs until cancelled (or, with `signals`, until SIGINT/SIGTERM)."""
    app = make_app(container)
    stalled = container.settings.jobs.stalled_seconds
    with ExitStack() as stack:
        handlers_for = container.workers.outbox_handlers or container.outbox_handlers  # tests inject
        handlers, missing = handlers_for(stack)
        for kind, why in missing.items():
            log.info("outbox kind %s is not dispatched by this worker: %s", kind, why)
        async with app.open_async():
            await app.run_worker_async(
                name=name or worker_name(),
                concurrency=container.settings.jobs.concurrency,
                install_signal_handlers=signals,
                additional_context={"outbox_handlers": handlers},
                update_heartbeat_interval=max(0.5, stalled / 4),
                stalled_worker_timeout=stalled,
                fetch_job_polling_interval=1.0,
                delete_jobs="successful",
            )


class JobThread:
    """A job worker in a daemon thread of the API process (MICROFACTORY_JOBS_IN_PROCESS=true)."""

    def __init__(self, container: Container) -> None:
        self._container = container
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._main, name="jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait(10)

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None and self._task is not None:
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(timeout)

    def _main(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(run(self._container, signals=False, name=f"api:{worker_name()}"))
        self._started.set()
        try:
            await self._task
        except asyncio.CancelledError:
            pass
        except Exception:  # the API goes on serving; `microfactory worker` can take over
            log.exception("the in-process job worker stopped")
