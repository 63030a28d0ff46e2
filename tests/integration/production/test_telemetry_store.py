"""Telemetry storage without the broker: rollups of old readings, silence alerts, API answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from microfactory.db.tables.telemetry import AlertRow, TelemetryReadingRow, TelemetryRollupRow
from microfactory.production.telemetry.ingest import Housekeeping, Ingest
from microfactory.production.telemetry.model import Retention, topic_for
from microfactory.production.telemetry.store import ReadingWriter, roll_up

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TOPIC = topic_for("ber", "ber-fdm-1")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _ingest(engine: Engine, clock: Clock) -> Ingest:
    rules = Housekeeping(silent_after=timedelta(minutes=2), retention=Retention(raw_for=timedelta(hours=1)))
    ingest = Ingest(ReadingWriter(engine), dict, rules, clock)
    ingest.start()
    return ingest


def _message(ts: datetime, **readings: float) -> tuple[str, bytes]:
    return TOPIC, orjson.dumps({"ts": ts.isoformat(), "readings": readings})


def test_old_readings_become_minute_rollups_and_the_series_reads_both(
    engine: Engine, client: TestClient
) -> None:
    clock = Clock(T0)
    ingest = _ingest(engine, clock)
    old = [_message(T0 + timedelta(seconds=s), t=float(s)) for s in (0, 30, 60)]
    recent = [_message(T0 + timedelta(hours=2), t=99.0)]
    assert ingest.accept(old + recent) == 4
    clock.now = T0 + timedelta(hours=2, minutes=30)
    assert ingest.writer.run(lambda c: roll_up(c, Retention(timedelta(hours=1)), clock.now)) == 3
    ingest.accept([_message(T0 + timedelta(seconds=45), t=90.0)])  # late, into a rolled-up minute
    assert ingest.writer.run(lambda c: roll_up(c, Retention(timedelta(hours=1)), clock.now)) == 1
    ingest.writer.close()
    with engine.connect() as connection:
        rollups = connection.execute(select(TelemetryRollupRow).order_by(TelemetryRollupRow.bucket)).all()
        raw = connection.execute(select(TelemetryReadingRow.value)).scalars().all()
    assert [(r.bucket, r._mapping["count"], r.low, r.mean, r.high) for r in rollups] == [
        (T0, 3, 0.0, 40.0, 90.0),
        (T0 + timedelta(minutes=1), 1, 60.0, 60.0, 60.0),
    ]
    assert raw == [99.0]
    answer = client.get(
        "/api/v1/machines/ber-fdm-1/telemetry", params={"metric": "t", "since": T0.isoformat()}
    )
    assert [(p["ts"], p["value"]) for p in answer.json()] == [
        (T0.isoformat(), 40.0),
        ((T0 + timedelta(minutes=1)).isoformat(), 60.0),
        ((T0 + timedelta(hours=2)).isoformat(), 99.0),
    ]


def test_a_quiet_machine_is_flagged_once_and_cleared_when_it_reports(engine: Engine) -> None:
    clock = Clock(T0)
    ingest = _ingest(engine, clock)
    ingest.accept([_message(T0, door=0)])
    clock.now = T0 + timedelta(minutes=1)
    assert ingest.flag_silent() == 0
    clock.now = T0 + timedelta(minutes=5)
    assert ingest.flag_silent() == 1
    assert ingest.flag_silent() == 0  # already flagged
    ingest.accept([_message(clock.now, door=1)])
    ingest.writer.close()
    with engine.connect() as connection:
        alerts = connection.execute(select(AlertRow)).all()
    assert [(a.kind, a.machine, a.closed_at is not None) for a in alerts] == [("silent", "ber-fdm-1", True)]
    assert "has not reported for 5 min" in alerts[0].message


def test_the_api_names_what_is_wrong(client: TestClient) -> None:
    unknown = client.get("/api/v1/machines/no-such-machine/telemetry", params={"metric": "t"})
    assert unknown.status_code == 404
    naive = client.get("/api/v1/machines/x/telemetry", params={"metric": "t", "since": "2026-03-02T08:00:00"})
    assert naive.status_code == 422
    assert "time zone" in naive.text
    assert client.post("/api/v1/alerts/alr_nothing/ack").status_code == 404
    assert client.get("/api/v1/alerts").json() == []
