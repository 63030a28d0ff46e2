"""The pure telemetry core: payloads, limits, downsampling, silence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from microfactory.errors import Invalid
from microfactory.network.document import build_network, parse_network_text
from microfactory.production.telemetry.model import (
    LastSeen,
    Limit,
    Message,
    Retention,
    Rollup,
    breaches,
    downsample,
    limits_from,
    parse_message,
    parse_topic,
    topic_for,
)

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def _parse(document: object) -> tuple[Message | None, list[str]]:
    parsed = parse_message("ber", "ber-fdm-1", orjson.dumps(document))
    return parsed.message, [str(problem) for problem in parsed.problems]


def test_topics_name_site_and_machine() -> None:
    assert topic_for("ber", "ber-fdm-1") == "microfactory/ber/ber-fdm-1/telemetry"
    assert parse_topic("microfactory/ber/ber-fdm-1/telemetry") == ("ber", "ber-fdm-1")
    assert parse_topic("microfactory/ber/telemetry") is None
    assert parse_topic("other/ber/m/telemetry") is None
    assert parse_topic("microfactory//m/telemetry") is None


def test_iso_and_epoch_times_mean_the_same_instant() -> None:
    iso, _ = _parse({"ts": "2026-03-02T09:00:00+01:00", "readings": {"nozzle_temp": 215}})
    epoch, _ = _parse({"ts": T0.timestamp(), "readings": {"nozzle_temp": 215}})
    assert iso is not None and epoch is not None
    assert iso.ts == epoch.ts == T0
    assert iso.ts.tzinfo is not None
    assert iso.readings == {"nozzle_temp": 215.0}


def test_operation_is_carried_when_named() -> None:
    message, problems = _parse({"ts": "2026-03-02T08:00:00Z", "readings": {"door": 1}, "operation": "op_1"})
    assert message is not None and message.operation_id == "op_1"
    assert problems == []


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"{not json", "the payload is not JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (orjson.dumps({"readings": {"a": 1}}), "ts: ts (ISO 8601 or epoch seconds) is required"),
        (orjson.dumps({"ts": "yesterday", "readings": {"a": 1}}), "neither ISO 8601 nor epoch"),
        (orjson.dumps({"ts": "2026-03-02T08:00:00", "readings": {"a": 1}}), "needs a time zone"),
        (orjson.dumps({"ts": 1e300, "readings": {"a": 1}}), "out of range"),
        (orjson.dumps({"ts": True, "readings": {"a": 1}}), "is required"),
        (orjson.dumps({"ts": 0, "readings": {}}), "readings must be a non-empty object"),
        (orjson.dumps({"ts": 0, "readings": {"a": "hot"}}), "readings.a: must be a number"),
    ],
)
def test_a_message_without_time_or_readings_is_refused_whole(payload: bytes, expected: str) -> None:
    parsed = parse_message("ber", "m", payload)
    assert parsed.message is None
    assert any(expected in str(problem) for problem in parsed.problems), parsed.problems


def test_nan_and_infinity_lose_only_their_reading() -> None:
    payload = b'{"ts": 0, "readings": {"nozzle_temp": NaN, "bed_temp": Infinity, "door": 1, "fan": true}}'
    parsed = parse_message("ber", "m", payload)
    # orjson refuses NaN and Infinity in JSON text: the message is not JSON at all
    assert parsed.message is None
    message, problems = _parse({"ts": 0, "readings": {"door": 1, "fan": True, "power_w": 12.5}})
    assert message is not None and message.readings == {"door": 1.0, "power_w": 12.5}
    assert problems == ["readings.fan: must be a number, not True"]


def test_a_reading_outside_its_limit_is_a_breach_once_per_machine_and_metric() -> None:
    limits = limits_from({"ber-fdm-1": {"nozzle_temp": (180.0, 260.0)}, "other": {}})
    assert "other" not in limits
    messages = [
        Message("ber", "ber-fdm-1", T0, {"nozzle_temp": 250.0, "bed_temp": 500.0}),
        Message("ber", "ber-fdm-1", T0 + timedelta(seconds=1), {"nozzle_temp": 275.0}, "op_7"),
        Message("ber", "ber-fdm-1", T0 + timedelta(seconds=2), {"nozzle_temp": 280.0}),
        Message("ber", "ber-fdm-2", T0, {"nozzle_temp": 999.0}),
    ]
    found = breaches(messages, limits)
    assert len(found) == 1
    assert found[0].value == 275.0 and found[0].operation_id == "op_7" and found[0].at == messages[1].ts
    assert found[0].message == "nozzle_temp 275 is above the limit [180, 260] on ber-fdm-1"
    low = breaches([Message("ber", "ber-fdm-1", T0, {"nozzle_temp": 20.0})], limits)
    assert "below" in low[0].message
    assert Limit(1, 2).allows(1) and Limit(1, 2).allows(2) and not Limit(1, 2).allows(2.01)


def test_downsampling_gives_min_mean_max_per_minute() -> None:
    raw = [
        ("ber", "m", "t", T0 + timedelta(seconds=5), 10.0),
        ("ber", "m", "t", T0 + timedelta(seconds=50), 20.0),
        ("ber", "m", "t", T0 + timedelta(seconds=65), 40.0),
        ("ber", "m", "u", T0 + timedelta(seconds=5), 1.0),
    ]
    rollups = downsample(raw, timedelta(minutes=1))
    by_key = {(r.metric, r.bucket): r for r in rollups}
    first = by_key["t", T0]
    assert (first.count, first.low, first.mean, first.high) == (2, 10.0, 15.0, 20.0)
    assert by_key["t", T0 + timedelta(minutes=1)].mean == 40.0
    assert by_key["u", T0].count == 1
    late = first.merged(Rollup("ber", "m", "t", T0, 1, 0.0, 30.0, 30.0))
    assert (late.count, late.low, late.mean, late.high) == (3, 0.0, 20.0, 30.0)


def test_the_retention_cutoff_falls_on_a_bucket_boundary() -> None:
    retention = Retention(raw_for=timedelta(hours=2), bucket=timedelta(minutes=1))
    cutoff = retention.cutoff(T0 + timedelta(hours=2, seconds=42))
    assert cutoff == T0


def test_a_machine_is_silent_after_the_allowed_quiet() -> None:
    seen = LastSeen()
    seen.saw([Message("ber", "a", T0, {"x": 1.0}), Message("ber", "b", T0, {"x": 1.0})], T0)
    seen.saw([Message("ber", "b", T0, {"x": 1.0})], T0 + timedelta(minutes=3))
    silent = seen.silent(T0 + timedelta(minutes=4), timedelta(minutes=2))
    assert [(s.site, s.machine, s.last_seen) for s in silent] == [("ber", "a", T0)]
    assert "has not reported for 4 min" in silent[0].message(T0 + timedelta(minutes=4))


NETWORK = """
network: n
fulfilment_partners: {van: {kind: parcel_network, mode: van}}
sites:
  ber:
    location: {lat: 52.5, lon: 13.4, country: DE}
    timezone: Europe/Berlin
    calendar: {days: [mon], hours: ["08:00", "17:00"]}
    labour_rate_per_hour: 30
    fulfilment_partner: van
    machines:
      - {id: m1, capability: fdm_print, limits: LIMITS}
"""


def test_the_network_file_gives_each_machine_its_limits() -> None:
    network = build_network(parse_network_text(NETWORK.replace("LIMITS", "{nozzle_temp: [180, 260.5]}")))
    assert network.sites["ber"].machines[0].limits == {"nozzle_temp": (180.0, 260.5)}


def test_bad_limits_are_named_by_place() -> None:
    text = NETWORK.replace("LIMITS", "{a: [1], b: [5, 2], c: [x, 3], d: [1, .inf]}")
    with pytest.raises(Invalid) as refused:
        build_network(parse_network_text(text))
    prefix = "sites.ber.machines[0].limits"
    paths = {problem.path for problem in refused.value.problems if problem.path.startswith(prefix)}
    assert paths == {f"{prefix}.a", f"{prefix}.b", f"{prefix}.c", f"{prefix}.d"}
