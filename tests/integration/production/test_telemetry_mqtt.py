"""Against the real Mosquitto broker: readings published by a machine are stored, a limit raises an alert,
and the API serves both."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, func, select

from microfactory.config import Settings
from microfactory.db.tables.telemetry import AlertRow, TelemetryReadingRow
from microfactory.production.telemetry.model import topic_for
from microfactory.production.telemetry.subscriber import BrokerAddress, TelemetrySubscriber, subscriber_for


@pytest.fixture
def publisher(mqtt_broker: BrokerAddress) -> Iterator[mqtt.Client]:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-pub-{uuid.uuid4().hex[:8]}")
    client.connect(mqtt_broker.host, mqtt_broker.port)
    client.loop_start()
    yield client
    client.loop_stop()
    client.disconnect()


@pytest.fixture
def subscriber(
    settings: Settings, networked: Engine, mqtt_broker: BrokerAddress
) -> Iterator[TelemetrySubscriber]:
    test_settings = settings.with_changes(
        mqtt_url=f"mqtt://{mqtt_broker.host}:{mqtt_broker.port}", telemetry_flush_ms=20
    )
    listening = subscriber_for(
        test_settings, networked, client_id=f"test-sub-{uuid.uuid4().hex[:8]}", persistent=False
    )
    listening.start()
    assert listening.wait_subscribed(10), "the subscriber did not subscribe within 10 s"
    yield listening
    listening.stop()


def _eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail("not within the time allowed")
        time.sleep(0.05)


def _count(engine: Engine, query: object) -> int:
    with engine.connect() as connection:
        return int(connection.scalar(query) or 0)  # type: ignore[call-overload]


def test_published_readings_are_stored_and_a_limit_raises_one_alert(
    subscriber: TelemetrySubscriber, publisher: mqtt.Client, networked: Engine, client: TestClient
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    topic = topic_for("ber", "ber-fdm-1")
    for second in range(10):
        nozzle = 300.0 if second in (6, 7) else 210.0 + second  # limit [180, 260]
        payload = {
            "ts": (start + timedelta(seconds=second)).isoformat(),
            "readings": {"nozzle_temp": nozzle, "door": 0},
        }
        if second == 6:
            payload["operation"] = "op_print_1"
        publisher.publish(topic, orjson.dumps(payload), qos=1).wait_for_publish(5)
    publisher.publish(topic, b"{not json", qos=1).wait_for_publish(5)
    publisher.publish(
        topic, orjson.dumps({"ts": start.timestamp(), "readings": {"bed_temp": 60.5}}), qos=1
    ).wait_for_publish(5)

    readings = (
        select(func.count())
        .select_from(TelemetryReadingRow)
        .where(TelemetryReadingRow.machine == "ber-fdm-1")
    )
    _eventually(lambda: _count(networked, readings) == 21)
    assert _count(networked, select(func.count()).select_from(AlertRow)) == 1
    assert subscriber.ingest.stats.rejected == 1

    series = client.get(
        "/api/v1/machines/ber-fdm-1/telemetry", params={"metric": "nozzle_temp", "since": start.isoformat()}
    )
    assert series.status_code == 200
    values = [point["value"] for point in series.json()]
    assert values == [210.0, 211.0, 212.0, 213.0, 214.0, 215.0, 300.0, 300.0, 218.0, 219.0]
    assert datetime.fromisoformat(series.json()[0]["ts"]) == start

    alerts = client.get("/api/v1/alerts").json()
    assert [(a["kind"], a["site"], a["machine"]) for a in alerts] == [("limit", "ber", "ber-fdm-1")]
    assert alerts[0]["message"] == "nozzle_temp 300 is above the limit [180, 260] on ber-fdm-1"
    assert alerts[0]["operation_id"] == "op_print_1"
    assert set(alerts[0]) >= {"id", "kind", "site", "machine", "message", "at"}

    assert client.post(f"/api/v1/alerts/{alerts[0]['id']}/ack").json()["closed_at"] is not None
    assert client.get("/api/v1/alerts").json() == []
    # breached again after the acknowledgement: a new alert
    again = {"ts": datetime.now(UTC).isoformat(), "readings": {"nozzle_temp": 100}}
    publisher.publish(topic, orjson.dumps(again), qos=1).wait_for_publish(5)
    _eventually(lambda: len(client.get("/api/v1/alerts").json()) == 1)
    assert "below the limit" in client.get("/api/v1/alerts").json()[0]["message"]
