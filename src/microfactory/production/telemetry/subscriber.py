"""The MQTT side: a paho client subscribed to every machine's telemetry, and the thread that stores it.

paho's network thread only appends (topic, payload) to a list; one writer thread takes the list
every `batch_messages` messages or `flush_ms` milliseconds, whichever comes first, and hands it to
`Ingest`. The client reconnects by itself (backoff from 1 to 30 s) and subscribes again on every
connect, QoS 1. Messages are acknowledged on receipt: a crash loses at most the batch in memory
(under `flush_ms` of readings), which a stream of samples can afford, while acknowledging after the
commit would hold the broker to its in-flight window of a few messages.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from microfactory.config import Settings
from microfactory.db.engine import make_session_factory
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.production.telemetry import service
from microfactory.production.telemetry.ingest import Housekeeping, Ingest, Received, SpcCheck
from microfactory.production.telemetry.model import TOPIC_FILTER, MachineLimits, Retention
from microfactory.production.telemetry.store import ReadingWriter

log = logging.getLogger(__name__)
QUEUE_BATCHES = 10  # the inbox holds this many batches before paho's thread waits for the writer


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker is: `mqtt://[user:password@]host[:1883]` or `mqtts://...` (TLS, port 8883)."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise Invalid(
                "not an MQTT URL", [Problem("MICROFACTORY_MQTT_URL", f"{url!r}: use mqtt://host:port")]
            )
        tls = parts.scheme == "mqtts"
        return cls(parts.hostname, parts.port or (8883 if tls else 1883), tls, parts.username, parts.password)

    def client(self, client_id: str, persistent: bool) -> mqtt.Client:
        """A paho client for this broker; a persistent session keeps QoS 1 messages while we are away."""
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent)
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        if self.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        return client


class Inbox:
    """Received messages waiting for the writer: a full batch wakes it early, a full inbox holds paho.

    Bounded (`capacity` messages): when the writer falls behind (a slow disk, a locked database),
    paho's network thread waits here instead of piling up memory; the broker then holds the QoS 1
    messages it has not delivered (up to its own queue limit) and TCP slows the sender.
    """

    def __init__(self, batch_messages: int, capacity: int | None = None) -> None:
        self._batch = batch_messages
        self._capacity = max(capacity or batch_messages * QUEUE_BATCHES, batch_messages)
        self._items: list[Received] = []
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._room = threading.Condition(self._lock)
        self._closed = False
        self.received = 0  # messages put since start (what a publisher may pace itself by)

    def put(self, topic: str, payload: bytes | bytearray) -> None:
        with self._lock:
            while len(self._items) >= self._capacity and not self._closed:
                self._room.wait(0.5)
            self.received += 1
            self._items.append((topic, payload))
            if len(self._items) >= self._batch:
                self._ready.notify()

    def take(self, timeout: float) -> list[Received]:
        """Everything received so far, waiting up to `timeout` seconds for a full batch."""
        with self._lock:
            if len(self._items) < self._batch:
                self._ready.wait(timeout)
            items, self._items = self._items, []
            self._room.notify_all()
        return items

    def wake(self, closing: bool = False) -> None:
        """Wake the writer; `closing`: a put no longer waits for room (the writer is stopping)."""
        with self._lock:
            self._closed = self._closed or closing
            self._ready.notify_all()
            self._room.notify_all()


class TelemetrySubscriber:
    """Subscribes to `microfactory/+/+/telemetry` and stores what arrives until `stop`."""

    def __init__(
        self,
        address: BrokerAddress,
        ingest: Ingest,
        *,
        client_id: str = "microfactory-telemetry",
        persistent: bool = True,
        batch_messages: int = 2000,
        flush_ms: int = 100,
    ) -> None:
        self.address = address
        self.ingest = ingest
        self.inbox = Inbox(batch_messages)
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self._flush = flush_ms / 1000
        self._stop = threading.Event()
        self._client = address.client(client_id, persistent)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._writer = threading.Thread(target=self._write_loop, name="telemetry-writer", daemon=True)

    def start(self) -> None:
        """Connect in the background (a broker that is down is retried) and start the writer."""
        self.ingest.start()
        self._client.connect_async(self.address.host, self.address.port, keepalive=30)
        self._client.loop_start()
        self._writer.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop receiving, store what was received, close the connection."""
        self._stop.set()
        self.inbox.wake(closing=True)  # paho's thread, if it waits for room, goes on and stops
        self._client.disconnect()
        self._client.loop_stop()
        self.inbox.wake(closing=True)
        if self._writer.is_alive():
            self._writer.join(timeout)
        self.ingest.writer.close()

    def wait_subscribed(self, timeout: float) -> bool:
        return self.subscribed.wait(timeout)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("MQTT broker %s refused the connection: %s", self.address.host, reason)
            return
        self.connected.set()
        client.subscribe(TOPIC_FILTER, qos=1)  # again on every reconnect

    def _on_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, properties: Any
    ) -> None:
        if all(not reason.is_failure for reason in reasons):
            self.subscribed.set()
        else:
            log.error("MQTT subscription to %s refused: %s", TOPIC_FILTER, reasons)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.inbox.put(message.topic, message.payload)

    def _write_loop(self) -> None:
        while True:
            stopping = self._stop.is_set()
            batch = self.inbox.take(0 if stopping else self._flush)
            if batch:
                self._guarded(self.ingest.accept, batch)
            if stopping and not batch:
                return
            if not stopping:
                self._guarded(self.ingest.chores)

    @staticmethod
    def _guarded(action: Callable[..., object], *args: Any) -> None:
        try:
            action(*args)
        except Exception:  # the writer keeps going; the next batch tries again
            log.exception("telemetry writer failed")


def subscriber_for(
    settings: Settings, engine: Engine, *, client_id: str | None = None, persistent: bool = True
) -> TelemetrySubscriber:
    """The subscriber the settings describe, storing into `engine`'s database.

    `persistent`: the broker keeps the session (and QoS 1 messages) while we are away; a test's
    one-off client asks for a clean session instead.
    """
    options = settings.telemetry
    factory = make_session_factory(engine)

    def limits() -> MachineLimits:
        with UnitOfWork(factory) as uow:
            return service.machine_limits(uow)

    rules = Housekeeping(
        silent_after=timedelta(seconds=options.silent_after_seconds),
        retention=Retention(raw_for=timedelta(hours=options.keep_raw_hours)),
    )
    ingest = Ingest(ReadingWriter(engine), limits, rules, spc=spc_check(factory))
    return TelemetrySubscriber(
        BrokerAddress.parse(settings.mqtt_url),
        ingest,
        client_id=client_id or options.client_id,
        persistent=persistent,
        batch_messages=options.batch_messages,
        flush_ms=options.flush_ms,
    )


def spc_check(factory: sessionmaker[Session]) -> SpcCheck:
    """Quality's SPC on the metrics that reported: a machine whose newest reading is out of
    control is held for new jobs (`quality.spc_service.check_telemetry`); how many were held."""

    def check(subjects: set[tuple[str, str, str]], now: datetime) -> int:
        from microfactory.quality import spc_service  # quality builds on production, not the reverse

        with UnitOfWork(factory) as uow, uow.write_turn():
            holds = spc_service.check_telemetry(uow, subjects, now)
            uow.commit()
        return len(holds)

    return check
