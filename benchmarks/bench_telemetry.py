"""Telemetry ingestion: 200,000 readings into a fresh SQLite file, alone and through the local broker.

Machines publish messages of ten readings (nozzle and bed temperature, laser power, door, power
draw, ...) at QoS 1 (what the subscriber asks for), as a printer or a site's agent would. Figures:
- ingestion alone: parse and store, no broker (what the writer thread can do on one core);
- through Mosquitto: published on loopback by another process, received by `TelemetrySubscriber`,
  parsed and stored: readings per second, per CPU second of the subscriber's process (the "one
  core" of the target), readings lost (stored less published: must be 0 at QoS 1), and the p99
  delay from a reading's publication (its `ts`) to the commit that stored it;
- the same messages to a bare paho subscriber that only counts them, and the ratio of the two.

The publisher is a process of its own (as machines are), so it does not share the subscriber's
interpreter lock. It keeps at most WINDOW messages ahead of what the subscriber received (a shared
counter), since Mosquitto drops QoS 1 messages queued beyond 1000 for a client: real machines
publish far slower than this, so the window only stands in for their pace. The machine may be
shared: the CPU-second figures say what one core does, the wall-clock ones what this run saw.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from benchmarks.result import Result
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.tables.telemetry import TelemetryReadingRow
from microfactory.production.telemetry.ingest import Ingest, Received
from microfactory.production.telemetry.model import TOPIC_FILTER, Message, topic_for
from microfactory.production.telemetry.store import ReadingWriter
from microfactory.production.telemetry.subscriber import BrokerAddress, TelemetrySubscriber

READINGS = 200_000
PER_MESSAGE = 10
MACHINES = 20
WINDOW = 800  # messages the publisher may be ahead of the receiver
BATCH = 2000
TARGET = 50_000
BROKER = BrokerAddress("127.0.0.1", 1883)
DELAY_SAMPLE = 10  # every tenth message's delay is kept
TIMEOUT = 300.0


def readings(number: int) -> dict[str, float]:
    return {
        "nozzle_temp": 210 + number % 7,
        "bed_temp": 60.5,
        "laser_power": 0.0,
        "door": number % 2,
        "power_w": 140.25 + number % 11,
        "fan": 0.8,
        "x": 12.5,
        "y": 40.0,
        "z": 1.2,
        "flow": 0.95,
    }


def messages() -> list[tuple[str, bytes]]:
    """READINGS readings from MACHINES machines, one message per machine and second."""
    found = []
    start = time.time() - READINGS / PER_MESSAGE / MACHINES
    for number in range(READINGS // PER_MESSAGE):
        payload = {"ts": start + number // MACHINES, "readings": readings(number)}
        found.append((topic_for("bench", f"m-{number % MACHINES:02d}"), orjson.dumps(payload)))
    return found


def _database(folder: str, name: str) -> str:
    url = f"sqlite:///{Path(folder) / name}"
    upgrade(make_engine(url))
    return url


def ingestion_alone(batch: list[tuple[str, bytes]], url: str) -> tuple[float, float]:
    """(readings per wall second, readings per CPU second) of parse and store only."""
    ingest = Ingest(ReadingWriter(make_engine(url)), dict)
    ingest.start()
    wall, cpu = time.perf_counter(), time.process_time()
    for start in range(0, len(batch), BATCH):
        ingest.accept(batch[start : start + BATCH])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ingest.writer.close()
    assert ingest.stats.readings == READINGS
    return READINGS / wall, READINGS / cpu


# -- the publisher, in a process of its own -----------------------------------------------------


def publisher_process(received: Synchronized[int], go: Any, published: Synchronized[int]) -> None:
    """Publish READINGS readings at QoS 1, each stamped with the time it leaves, paced by `received`."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.connect(BROKER.host, BROKER.port)
    client.loop_start()
    topics = [topic_for("bench", f"m-{n:02d}") for n in range(MACHINES)]
    bodies = [readings(n) for n in range(READINGS // PER_MESSAGE)]
    go.wait()
    info = None
    try:
        for sent, body in enumerate(bodies):
            while sent - received.value > WINDOW:
                time.sleep(0.0002)
            payload = orjson.dumps({"ts": time.time(), "readings": body})
            info = client.publish(topics[sent % MACHINES], payload, qos=1)
            published.value = sent + 1
        if info is not None:
            info.wait_for_publish(TIMEOUT)  # the broker has the last one (and, in order, all before)
    finally:
        client.loop_stop()
        client.disconnect()


@dataclass
class Publisher:
    """The publisher process, fed the subscriber's received count by a small pump thread."""

    received: Callable[[], int]
    context: Any = field(default_factory=lambda: multiprocessing.get_context("spawn"))

    def run(self, done: Callable[[], bool]) -> float:
        """Start publishing, wait until `done()`; the seconds it took from the first message."""
        shared = self.context.Value("q", 0, lock=False)
        published = self.context.Value("q", 0, lock=False)
        go = self.context.Event()
        process = self.context.Process(target=publisher_process, args=(shared, go, published), daemon=True)
        process.start()
        stop = threading.Event()
        pump = threading.Thread(target=self._pump, args=(shared, stop), daemon=True)
        pump.start()
        started = time.perf_counter()
        go.set()
        try:
            _wait(lambda: done() or (not process.is_alive() and process.exitcode != 0))
            elapsed = time.perf_counter() - started
        finally:
            stop.set()
            process.join(TIMEOUT)
        if process.exitcode != 0:
            raise RuntimeError(f"the publisher failed (exit {process.exitcode})")
        return elapsed

    def _pump(self, shared: Synchronized[int], stop: threading.Event) -> None:
        while not stop.wait(0.002):  # the window is ~150 ms of messages: 2 ms is fresh enough
            shared.value = self.received()


def _wait(done: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


# -- the two subscribers ------------------------------------------------------------------------


def bare_subscriber() -> float:
    """Readings per second to a paho subscriber that only counts messages."""
    count = [0]
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:8]}")
    client.on_message = lambda *_: count.__setitem__(0, count[0] + 1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.connect(BROKER.host, BROKER.port)
    client.loop_start()
    client.subscribe(TOPIC_FILTER, qos=1)
    subscribed.wait(10)
    elapsed = Publisher(lambda: count[0]).run(lambda: count[0] >= READINGS // PER_MESSAGE)
    client.loop_stop()
    client.disconnect()
    return READINGS / elapsed


class TimedIngest(Ingest):
    """`Ingest` that notes, for a sample of messages, how long after its `ts` its batch was stored."""

    def __init__(self, writer: ReadingWriter) -> None:
        super().__init__(writer, dict)
        self.delays: list[float] = []
        self.cpu = 0.0  # CPU seconds of the writer thread in `accept` (parse, store, commit)
        self._parsed: list[Message] = []

    def parse(self, received: Sequence[Received]) -> list[Message]:
        self._parsed = super().parse(received)
        return self._parsed

    def accept(self, received: Sequence[Received]) -> int:
        cpu = time.thread_time()
        stored = super().accept(received)
        self.cpu += time.thread_time() - cpu
        now = datetime.now(UTC)
        self.delays.extend((now - m.ts).total_seconds() for m in self._parsed[::DELAY_SAMPLE])
        return stored


@dataclass(frozen=True)
class Through:
    rate: float  # readings per wall second
    per_cpu: float  # readings per CPU second of the subscriber's process
    lost: int
    p99_ms: float
    writer_share: float  # of the subscriber's CPU: the writer thread's (the rest is paho's thread)


def through_broker(url: str) -> Through:
    """Published by another process, received, parsed and stored by `TelemetrySubscriber`."""
    engine = make_engine(url)
    timed = TimedIngest(ReadingWriter(engine))
    batches = Settings().telemetry  # the service's own batch size and flush interval
    subscriber = TelemetrySubscriber(
        BROKER,
        timed,
        client_id=f"bench-{uuid.uuid4().hex[:8]}",
        persistent=False,
        batch_messages=batches.batch_messages,
        flush_ms=batches.flush_ms,
    )
    subscriber.start()
    subscriber.wait_subscribed(10)
    cpu = time.process_time()
    elapsed = Publisher(lambda: subscriber.inbox.received).run(lambda: timed.stats.readings >= READINGS)
    cpu = time.process_time() - cpu
    _wait(lambda: timed.stats.readings >= READINGS, 5.0)  # a lost message would never come
    subscriber.stop()
    with engine.connect() as connection:
        stored = int(connection.scalar(select(func.count()).select_from(TelemetryReadingRow)) or 0)
    engine.dispose()
    p99 = statistics.quantiles(timed.delays, n=100)[98] * 1000 if len(timed.delays) > 1 else 0.0
    return Through(READINGS / elapsed, READINGS / cpu, READINGS - stored, p99, timed.cpu / cpu)


def run() -> list[Result]:
    batch = messages()
    with tempfile.TemporaryDirectory() as folder:
        alone_wall, alone_cpu = ingestion_alone(batch, _database(folder, "alone.db"))
        bare = bare_subscriber()
        through = through_broker(_database(folder, "broker.db"))
    name = "telemetry"
    return [
        Result(name, "ingestion alone (parse + store)", alone_wall, "readings/s"),
        Result(
            name,
            "ingestion alone per CPU second",
            alone_cpu,
            "readings/s",
            f">= {TARGET:,}",
            alone_cpu >= TARGET,
        ),
        Result(name, "bare subscriber, counting only", bare, "readings/s"),
        Result(
            name,
            "MQTT -> SQLite (publisher in another process)",
            through.rate,
            "readings/s",
            f">= {TARGET:,}",
            through.rate >= TARGET,
        ),
        Result(
            name,
            "MQTT -> SQLite per subscriber CPU second",
            through.per_cpu,
            "readings/s",
            f">= {TARGET:,}",
            through.per_cpu >= TARGET,
        ),
        Result(name, "readings lost at QoS 1", through.lost, "readings", "0", through.lost == 0),
        Result(name, "p99 delay, published -> stored", through.p99_ms, "ms"),
        Result(name, "subscriber CPU in the writer (parse + store)", through.writer_share, "share"),
        Result(name, "ingestion / bare subscriber", through.rate / bare, "ratio"),
    ]
