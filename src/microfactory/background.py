"""Daemon threads of a server process that do one round of work every few seconds until stopped.

The router and the outbox dispatcher are such threads: a round that fails is logged and the next one
tries again, so one bad row never stops the work; `stop` wakes the thread at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class PeriodicThread:
    """Runs `round()` every `interval` seconds in a daemon thread named `name`."""

    def __init__(self, name: str, interval: float) -> None:
        self.name = name
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def round(self) -> None:
        """One round of work; subclasses say what."""
        raise NotImplementedError

    def _run(self) -> None:
        self.run_rounds(self.round)

    def run_rounds(self, work: Callable[[], object]) -> None:
        """Call `work` every interval until stopped; a failed round is logged, the next one runs."""
        while not self._stop.wait(self.interval):
            try:
                work()
            except Exception:  # keep the thread alive; the next round tries again
                log.exception("%s: round failed", self.name)
