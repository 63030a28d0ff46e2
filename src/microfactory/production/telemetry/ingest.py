"""From received MQTT messages to stored readings and alerts: what the subscriber's writer thread runs.

Kept apart from the MQTT client so that the benchmark and the tests can feed it messages without a
broker, and so that the client's network thread does nothing but append to a list.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from microfactory.db.base import utcnow
from microfactory.production.telemetry import store
from microfactory.production.telemetry.model import (
    LastSeen,
    MachineLimits,
    Message,
    Retention,
    parse_message,
    parse_topic,
)
from microfactory.production.telemetry.store import ReadingWriter

log = logging.getLogger(__name__)
Received = tuple[str, bytes | bytearray]  # topic, payload
Subject = tuple[str, str, str]  # site, machine, metric
SpcCheck = Callable[[set[Subject], datetime], int]  # charts the subjects; how many holds it put


@dataclass
class IngestStats:
    messages: int = 0
    readings: int = 0
    rejected: int = 0  # messages refused whole
    dropped_readings: int = 0  # single readings refused (NaN, text)
    alerts: int = 0
    last_problem: str = ""


@dataclass
class Housekeeping:
    """How often the writer thread looks beyond the batch at hand."""

    limits_every: float = 30.0  # re-read the network's limits (a network may be reloaded)
    silence_every: float = 10.0
    silent_after: timedelta = timedelta(minutes=2)
    roll_up_every: float = 600.0
    spc_every: float = 60.0  # chart the metrics that reported since (quality's SPC), at most this often
    retention: Retention = field(default_factory=Retention)


class Ingest:
    """Parses received messages, writes them, raises alerts, flags silence and rolls old readings up."""

    def __init__(
        self,
        writer: ReadingWriter,
        limits: Callable[[], MachineLimits],
        housekeeping: Housekeeping | None = None,
        clock: Callable[[], datetime] = utcnow,
        spc: SpcCheck | None = None,
    ) -> None:
        self.writer = writer
        self._spc = spc
        self._reported: set[Subject] = set()  # metrics that reported since the last SPC check
        self.stats = IngestStats()
        self._limits = limits
        self._rules = housekeeping or Housekeeping()
        self._clock = clock
        self._last_seen = LastSeen()
        self._silent: set[str] = set()
        self._due: dict[str, float] = {}  # chore -> monotonic time it is next due

    def start(self) -> None:
        """Read what survives a restart: limits, who was reporting, who is flagged silent."""
        now = self._clock()
        self.writer.limits = self._limits()
        since = now - self._rules.silent_after * 10
        self._last_seen.seen.update(self.writer.run(lambda c: store.last_readings(c, since)))
        self._silent = self.writer.run(store.silent_machines)

    def accept(self, received: Sequence[Received]) -> int:
        """Parse and store one batch; how many readings were stored."""
        messages = self.parse(received)
        if not messages:
            return 0
        now = self._clock()
        report = self.writer.write(messages, now)
        self._last_seen.saw(messages, now)
        self.stats.readings += report.readings
        self.stats.alerts += report.alerts
        if self._spc is not None:
            self._reported.update((m.site, m.machine, metric) for m in messages for metric in m.readings)
        if self._silent:
            spoke = {m.machine for m in messages} & self._silent
            if spoke:
                self.writer.run(lambda c: store.close_silence_alerts(c, spoke, now))
                self._silent -= spoke
        return report.readings

    def parse(self, received: Sequence[Received]) -> list[Message]:
        messages: list[Message] = []
        for topic, payload in received:
            place = parse_topic(topic)
            if place is None:
                self._refuse(topic, "not a telemetry topic microfactory/{site}/{machine}/telemetry")
                continue
            parsed = parse_message(place[0], place[1], payload)
            if parsed.message is not None:
                messages.append(parsed.message)
                if parsed.problems:
                    self.stats.dropped_readings += len(parsed.problems)
                    self.stats.last_problem = f"{topic}: {parsed.problems[0]}"
            else:
                self._refuse(topic, "; ".join(str(p) for p in parsed.problems))
        self.stats.messages += len(received)
        return messages

    def _refuse(self, topic: str, why: str) -> None:
        self.stats.rejected += 1
        self.stats.last_problem = f"{topic}: {why}"
        log.warning("telemetry message refused on %s: %s", topic, why)

    def chores(self) -> None:
        """Refresh limits, flag silent machines and roll up old readings, each when it is due."""
        if self._is_due("limits", self._rules.limits_every):
            self.writer.limits = self._limits()
        if self._is_due("silence", self._rules.silence_every):
            self.flag_silent()
        if self._is_due("roll_up", self._rules.roll_up_every):
            now = self._clock()
            self.writer.run(lambda c: store.roll_up(c, self._rules.retention, now))
        if self._reported and self._is_due("spc", self._rules.spc_every):
            self.check_spc()

    def check_spc(self) -> int:
        """Chart every metric that reported since the last check (SPC holds); how many holds."""
        if self._spc is None or not self._reported:
            return 0
        subjects, self._reported = self._reported, set()
        return self._spc(subjects, self._clock())

    def flag_silent(self) -> int:
        """An alert for each machine quiet for longer than allowed; how many were raised."""
        now = self._clock()
        silences = [
            s for s in self._last_seen.silent(now, self._rules.silent_after) if s.machine not in self._silent
        ]
        if not silences:
            return 0
        raised: int = self.writer.run(lambda c: store.raise_silence_alerts(c, silences, now))
        self._silent |= {s.machine for s in silences}
        self.stats.alerts += raised
        return raised

    def _is_due(self, chore: str, every: float) -> bool:
        now = time.monotonic()
        if now < self._due.get(chore, 0.0):
            return False
        self._due[chore] = now + every
        return True
