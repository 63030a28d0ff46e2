"""The API process's outbox dispatcher: effects leave without anyone running `outbox dispatch`.

A daemon thread sends due messages every `interval` seconds with the handlers the process's settings
allow (`bootstrap.Container.outbox_handlers`); the clients those handlers use live as long as the
thread. `microfactory outbox dispatch --every S` does the same from cron or a separate process; both
may run at once, since every message is claimed before it is sent (decision 0007).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import ExitStack

from sqlalchemy.orm import Session, sessionmaker

from microfactory.background import PeriodicThread
from microfactory.outbox.dispatcher import Handlers, dispatch_due

log = logging.getLogger(__name__)

HandlersFor = Callable[[ExitStack], tuple[Handlers, dict[str, str]]]


class OutboxWorker(PeriodicThread):
    """A thread that dispatches due outbox messages of every kind this process can send."""

    def __init__(self, factory: sessionmaker[Session], handlers_for: HandlersFor, interval: float) -> None:
        super().__init__("outbox", interval)
        self._factory = factory
        self._handlers_for = handlers_for

    def _run(self) -> None:
        with ExitStack() as stack:
            handlers, missing = self._handlers_for(stack)
            for kind, why in missing.items():
                log.info("outbox kind %s is not dispatched by this process: %s", kind, why)
            if handlers.kinds:
                self.run_rounds(lambda: dispatch_due(self._factory, handlers))
