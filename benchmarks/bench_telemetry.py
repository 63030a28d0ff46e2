"""Telemetry ingestion: 200,000 readings into a fresh SQLite file, alone and through the local broker.

Machines publish messages of ten readings (nozzle and bed temperature, laser power, door, power
draw, ...) as a printer or a site's agent would. Three figures:
- ingestion alone: parse and store, no broker (what the writer thread can do on one core);
- through Mosquitto: published on loopback, received by `TelemetrySubscriber`, parsed and stored;
- the same messages to a bare paho subscriber that only counts them, and the ratio of the two.
The publisher runs in this process and keeps at most WINDOW messages ahead of the receiver, since
Mosquitto drops QoS 1 messages queued beyond 1000 for a client. The machine may be shared: the
CPU-seconds figure says what one core does, the wall-clock ones what this run saw.
"""

from __future__ import annotations

import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks.result import Result
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.production.telemetry.ingest import Ingest
from microfactory.production.telemetry.model import TOPIC_FILTER, topic_for
from microfactory.production.telemetry.store import ReadingWriter
from microfactory.production.telemetry.subscriber import BrokerAddress, subscriber_for

READINGS = 200_000
PER_MESSAGE = 10
MACHINES = 20
WINDOW = 800  # messages the publisher may be ahead of the receiver
BATCH = 2000
TARGET = 50_000
BROKER = BrokerAddress("127.0.0.1", 1883)


def messages() -> list[tuple[str, bytes]]:
    """READINGS readings from MACHINES machines, one message per machine and second."""
    found = []
    start = time.time() - READINGS / PER_MESSAGE / MACHINES
    for number in range(READINGS // PER_MESSAGE):
        machine = f"m-{number % MACHINES:02d}"
        readings = {
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
        payload = {"ts": start + number // MACHINES, "readings": readings}
        found.append((topic_for("bench", machine), orjson.dumps(payload)))
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


def publish(batch: list[tuple[str, bytes]], received: Callable[[], int]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.connect(BROKER.host, BROKER.port)
    client.loop_start()
    try:
        for sent, (topic, payload) in enumerate(batch):
            while sent - received() > WINDOW:
                time.sleep(0.0005)
            client.publish(topic, payload, qos=1)
    finally:
        client.loop_stop()
        client.disconnect()


def _wait(done: Callable[[], bool], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("the subscriber did not receive everything in time")
        time.sleep(0.002)


def bare_subscriber(batch: list[tuple[str, bytes]]) -> float:
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
    started = time.perf_counter()
    publish(batch, lambda: count[0])
    _wait(lambda: count[0] >= len(batch))
    elapsed = time.perf_counter() - started
    client.loop_stop()
    client.disconnect()
    return READINGS / elapsed


def through_broker(batch: list[tuple[str, bytes]], url: str) -> float:
    """Readings per second published, received, parsed and stored by `TelemetrySubscriber`."""
    settings = Settings(database_url=url)
    subscriber = subscriber_for(
        settings, make_engine(url), client_id=f"bench-{uuid.uuid4().hex[:8]}", persistent=False
    )
    subscriber.start()
    subscriber.wait_subscribed(10)
    started = time.perf_counter()
    publish(batch, lambda: subscriber.inbox.received)
    _wait(lambda: subscriber.ingest.stats.readings >= READINGS)
    elapsed = time.perf_counter() - started
    subscriber.stop()
    return READINGS / elapsed


def run() -> list[Result]:
    batch = messages()
    with tempfile.TemporaryDirectory() as folder:
        alone_wall, alone_cpu = ingestion_alone(batch, _database(folder, "alone.db"))
        bare = bare_subscriber(batch)
        ingested = through_broker(batch, _database(folder, "broker.db"))
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
            name, "MQTT -> SQLite ingestion", ingested, "readings/s", f">= {TARGET:,}", ingested >= TARGET
        ),
        Result(name, "ingestion / bare subscriber", ingested / bare, "ratio"),
    ]
