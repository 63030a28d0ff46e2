"""The API process's outbox dispatcher: effects leave without anyone running `outbox dispatch`.

A daemon thread sends due messages every `interval` seconds with the handlers the process's settings
allow (`bootstrap.Container.outbox_handlers`); the clients those handlers use live as long as the
thread. `microfactory outbox dispatch --every S` does the same from cron or a separate process; both
may run at once, since every message is claimed before it is sent (decision 0007).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import ExitStack

from sqlalchemy.orm import Session, sessionmaker

from microfactory.outbox.dispatcher import Handlers, dispatch_due

log = logging.getLogger(__name__)

HandlersFor = Callable[[ExitStack], tuple[Handlers, dict[str, str]]]


class OutboxWorker:
    """A thread that dispatches due outbox messages of every kind this process can send."""

    def __init__(self, factory: sessionmaker[Session], handlers_for: HandlersFor, interval: float) -> None:
        self._factory = factory
        self._handlers_for = handlers_for
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        with ExitStack() as stack:
            handlers, missing = self._handlers_for(stack)
            for kind, why in missing.items():
                log.info("outbox kind %s is not dispatched by this process: %s", kind, why)
            if not handlers.kinds:
                return
            while not self._stop.wait(self._interval):
                try:
                    dispatch_due(self._factory, handlers)
                except Exception:  # keep dispatching; the messages stay claimable and are retried
                    log.exception("outbox round failed")
