"""Machine telemetry as plain data: messages, limits, alerts, downsampling and silence.

A machine (or its site's edge agent) publishes on `microfactory/{site}/{machine}/telemetry` a payload
`{"ts": ISO 8601 or epoch seconds, "readings": {"name": number, ...}, "operation"?: ID}`. Parsing is
lenient where a stream should be: a bad message (not JSON, no usable `ts`) is refused whole, while a
bad reading (text, NaN, infinity) is dropped with its problem and its neighbours are kept, so one broken
sensor does not blind the others. Nothing here touches the database or the broker.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

import orjson

from microfactory.problems import Problem

TOPIC_PREFIX = "microfactory"
TOPIC_SUFFIX = "telemetry"
TOPIC_FILTER = f"{TOPIC_PREFIX}/+/+/{TOPIC_SUFFIX}"  # what the service subscribes to
MAX_NAME = 80  # the width of the site, machine, metric and operation columns
AlertKind = Literal["limit", "silent"]


def topic_for(site: str, machine: str) -> str:
    """The topic a machine publishes its readings on."""
    return f"{TOPIC_PREFIX}/{site}/{machine}/{TOPIC_SUFFIX}"


def parse_topic(topic: str) -> tuple[str, str] | None:
    """(site, machine) of a telemetry topic, or None when the topic is not one."""
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != TOPIC_PREFIX or parts[3] != TOPIC_SUFFIX:
        return None
    site, machine = parts[1], parts[2]
    if not site or not machine or len(site) > MAX_NAME or len(machine) > MAX_NAME:
        return None
    return site, machine


@dataclass(frozen=True, slots=True)
class Message:
    """One published message: a machine's readings at one instant, perhaps during an operation."""

    site: str
    machine: str
    ts: datetime  # aware UTC
    readings: Mapping[str, float]
    operation_id: str | None = None


@dataclass(frozen=True, slots=True)
class Parsed:
    """What a payload gave: the message (None when refused whole) and every problem found."""

    message: Message | None
    problems: tuple[Problem, ...] = ()


def parse_message(site: str, machine: str, payload: bytes | bytearray | str) -> Parsed:
    """Parse one payload; a refused message has no readings, a bad reading only loses itself."""
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        return Parsed(None, (Problem("", f"the payload is not JSON: {error}"),))
    if not isinstance(document, dict):
        return Parsed(None, (Problem("", "the payload must be a JSON object {ts, readings}"),))
    problems: list[Problem] = []
    ts = parse_ts(document.get("ts"), problems)
    readings = _readings(document.get("readings"), problems)
    operation = _operation(document.get("operation"), problems)
    if ts is None or not readings:
        return Parsed(None, tuple(problems))
    return Parsed(Message(site, machine, ts, readings, operation), tuple(problems))


def parse_ts(raw: object, problems: list[Problem], place: str = "ts") -> datetime | None:
    """An aware UTC time from ISO 8601 text (with its offset) or epoch seconds."""
    if isinstance(raw, bool) or raw is None:
        problems.append(Problem(place, f"{place} (ISO 8601 or epoch seconds) is required"))
        return None
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            problems.append(Problem(place, f"{place} must be a finite number of epoch seconds, not {raw!r}"))
            return None
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError):
            problems.append(Problem(place, f"{place} {raw!r} is out of range for epoch seconds"))
            return None
    if isinstance(raw, str):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            problems.append(Problem(place, f"{place} {raw!r} is neither ISO 8601 nor epoch seconds"))
            return None
        if parsed.tzinfo is None:
            problems.append(Problem(place, f"{place} {raw!r} needs a time zone offset (e.g. Z)"))
            return None
        return parsed.astimezone(UTC)
    problems.append(
        Problem(place, f"{place} must be ISO 8601 text or epoch seconds, not {type(raw).__name__}")
    )
    return None


def _readings(raw: object, problems: list[Problem]) -> dict[str, float]:
    if not isinstance(raw, dict) or not raw:
        problems.append(Problem("readings", 'readings must be a non-empty object {"name": number}'))
        return {}
    found: dict[str, float] = {}
    for name, value in raw.items():
        if not name or len(name) > MAX_NAME:
            problems.append(Problem("readings", f"a reading name must have 1 to {MAX_NAME} characters"))
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(Problem(f"readings.{name}", f"must be a number, not {value!r}"))
        elif not math.isfinite(value):
            problems.append(Problem(f"readings.{name}", f"must be a finite number, not {value!r}"))
        else:
            found[name] = float(value)
    return found


def _operation(raw: object, problems: list[Problem]) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw or len(raw) > MAX_NAME:
        problems.append(Problem("operation", f"operation must be an ID of 1 to {MAX_NAME} characters"))
        return None
    return raw


# Limits and alerts


@dataclass(frozen=True, slots=True)
class Limit:
    """The range a reading must stay in (`limits: {nozzle_temp: [180, 260]}` in the network file)."""

    low: float
    high: float

    def allows(self, value: float) -> bool:
        return self.low <= value <= self.high


MachineLimits = Mapping[str, Mapping[str, Limit]]  # machine -> reading -> limit


def limits_from(machines: Mapping[str, Mapping[str, tuple[float, float]]]) -> MachineLimits:
    """The limits of a network's machines (`machine -> reading -> (min, max)`), machines without limits left out."""
    return {
        machine: {name: Limit(low, high) for name, (low, high) in limits.items()}
        for machine, limits in machines.items()
        if limits
    }


@dataclass(frozen=True, slots=True)
class Breach:
    """A reading outside its machine's limit: what an alert is raised for."""

    site: str
    machine: str
    metric: str
    value: float
    limit: Limit
    at: datetime
    operation_id: str | None

    @property
    def key(self) -> tuple[str, str, str]:
        return ("limit", self.machine, self.metric)

    @property
    def message(self) -> str:
        side = "below" if self.value < self.limit.low else "above"
        return (
            f"{self.metric} {self.value:g} is {side} the limit [{self.limit.low:g}, {self.limit.high:g}]"
            f" on {self.machine}"
        )


def breaches(
    messages: Iterable[Message],
    limits: MachineLimits,
    running: Callable[[str], str | None] = lambda _machine: None,
) -> list[Breach]:
    """The first reading outside its limit per (machine, metric) in these messages.

    A message that names no operation is charged to `running(machine)`, the step its machine runs.
    """
    found: dict[tuple[str, str, str], Breach] = {}
    for message in messages:
        machine_limits = limits.get(message.machine)
        if not machine_limits:
            continue
        for metric, value in message.readings.items():
            limit = machine_limits.get(metric)
            if limit is None or limit.allows(value):
                continue
            operation = message.operation_id or running(message.machine)
            breach = Breach(message.site, message.machine, metric, value, limit, message.ts, operation)
            found.setdefault(breach.key, breach)
    return list(found.values())


# Downsampling


@dataclass(frozen=True, slots=True)
class Rollup:
    """One metric of one machine over one bucket: how many readings, their min, mean and max."""

    site: str
    machine: str
    metric: str
    bucket: datetime  # the bucket's start, aware UTC
    count: int
    low: float
    mean: float
    high: float

    def merged(self, other: Rollup) -> Rollup:
        """This bucket with late readings rolled up afterwards (the count-weighted mean)."""
        count = self.count + other.count
        mean = (self.mean * self.count + other.mean * other.count) / count
        return Rollup(
            self.site,
            self.machine,
            self.metric,
            self.bucket,
            count,
            min(self.low, other.low),
            mean,
            max(self.high, other.high),
        )


@dataclass(frozen=True, slots=True)
class Retention:
    """Raw readings for `raw_for`, then `bucket`-wide min/mean/max rollups."""

    raw_for: timedelta = timedelta(hours=24)
    bucket: timedelta = timedelta(minutes=1)

    def cutoff(self, now: datetime) -> datetime:
        """Readings before this instant are rolled up: a bucket boundary, so no bucket is cut."""
        return bucket_start(now - self.raw_for, self.bucket)


def bucket_start(ts: datetime, bucket: timedelta) -> datetime:
    """The start of the bucket `ts` falls in (buckets are aligned on the epoch)."""
    width = bucket.total_seconds()
    seconds = ts.timestamp()
    return datetime.fromtimestamp(seconds - seconds % width, UTC)


@dataclass
class _Accumulator:
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)


RawReading = tuple[str, str, str, datetime, float]  # site, machine, metric, ts, value


def downsample(readings: Iterable[RawReading], bucket: timedelta) -> list[Rollup]:
    """Raw readings to one rollup per (machine, metric, bucket), in bucket order."""
    buckets: dict[tuple[str, str, str, datetime], _Accumulator] = {}
    for site, machine, metric, ts, value in readings:
        key = (site, machine, metric, bucket_start(ts, bucket))
        accumulator = buckets.get(key)
        if accumulator is None:
            accumulator = buckets[key] = _Accumulator()
        accumulator.add(value)
    return [
        Rollup(site, machine, metric, start, acc.count, acc.low, acc.total / acc.count, acc.high)
        for (site, machine, metric, start), acc in sorted(buckets.items(), key=lambda item: item[0][3])
    ]


# Silence


@dataclass(frozen=True, slots=True)
class Silence:
    """A machine that has not reported for longer than allowed."""

    site: str
    machine: str
    last_seen: datetime

    @property
    def key(self) -> tuple[str, str, str]:
        return ("silent", self.machine, "")

    def message(self, now: datetime) -> str:
        minutes = (now - self.last_seen).total_seconds() / 60
        return f"{self.machine} at {self.site} has not reported for {minutes:.0f} min (last {self.last_seen.isoformat()})"


@dataclass
class LastSeen:
    """When each machine last reported, by the subscriber's clock: a machine's own clock may be wrong."""

    seen: dict[str, tuple[str, datetime]] = field(default_factory=dict)  # machine -> (site, ts)

    def saw(self, messages: Iterable[Message], received_at: datetime) -> None:
        """Each machine in `messages` reported at `received_at` (our clock, not the machine's)."""
        for message in messages:
            self.seen[message.machine] = (message.site, received_at)

    def silent(self, now: datetime, after: timedelta) -> list[Silence]:
        """Machines whose last reading is older than `after` (each once per call)."""
        return [
            Silence(site, machine, ts)
            for machine, (site, ts) in sorted(self.seen.items())
            if now - ts > after
        ]
