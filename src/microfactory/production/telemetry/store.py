"""Telemetry in storage: readings written in large batches, alerts raised once, old readings rolled up.

Ingestion is the hot path (tens of thousands of readings a second from a site's machines): one
dedicated connection, one executemany and one transaction per batch, no ORM objects. Alerts are
rare, so they may afford a query: an alert is raised only while no alert of its kind is open for the
same machine and metric, so a nozzle that stays too hot raises one alert, not one a second.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Engine, Table, and_, delete, insert, select, tuple_, update

from microfactory.db.base import new_id
from microfactory.db.engine import write_lock
from microfactory.db.tables.production import OperationRow
from microfactory.db.tables.telemetry import AlertRow, TelemetryReadingRow, TelemetryRollupRow
from microfactory.production.telemetry.model import (
    Breach,
    MachineLimits,
    Message,
    Retention,
    Rollup,
    Silence,
    breaches,
    downsample,
)

READINGS = cast(Table, TelemetryReadingRow.__table__)
ROLLUPS = cast(Table, TelemetryRollupRow.__table__)
ALERTS = cast(Table, AlertRow.__table__)
RunningOperation = Callable[[str], str | None]  # machine -> the operation it runs, if known
# (connection, {(site, machine)}) -> {machine: operation running on it}; one query per batch
RunningOperations = Callable[[Connection, Collection[tuple[str, str]]], Mapping[str, str]]
OPERATIONS = cast(Table, OperationRow.__table__)


def running_operations(connection: Connection, machines: Collection[tuple[str, str]]) -> dict[str, str]:
    """The operation each of these (site, machine) runs now, as the agents' reports left it.

    One query for a batch's machines (the site narrows it to the site's index); a machine that runs
    nothing is absent. Should a machine show two running steps (a report still on its way), the
    one started last is the one its readings belong to.
    """
    if not machines:
        return {}
    sites = sorted({site for site, _machine in machines})
    query = (
        select(OPERATIONS.c.site, OPERATIONS.c.machine, OPERATIONS.c.id)
        .where(
            OPERATIONS.c.site.in_(sites),
            OPERATIONS.c.status == "running",
            OPERATIONS.c.superseded_at.is_(None),
            OPERATIONS.c.machine.in_(sorted({machine for _site, machine in machines})),
        )
        .order_by(OPERATIONS.c.started_at, OPERATIONS.c.id)
    )
    wanted = set(machines)
    return {machine: op for site, machine, op in connection.execute(query) if (site, machine) in wanted}


@dataclass(frozen=True)
class WriteReport:
    readings: int
    alerts: int


COLUMNS = ("site", "machine", "metric", "ts", "value", "operation_id")
ReadingRow = tuple[str, str, str, Any, float, str | None]  # in COLUMNS order; ts as bound


def reading_rows(
    messages: Iterable[Message], running: RunningOperation, bind_ts: Callable[[datetime], Any]
) -> list[ReadingRow]:
    """One row per reading; a message without `operation` is charged to the machine's running one.

    `bind_ts` turns a message's time into what the driver stores, once per message, not per reading.
    """
    operations: dict[str, str | None] = {}
    rows: list[ReadingRow] = []
    extend = rows.extend
    for message in messages:
        site, machine, operation = message.site, message.machine, message.operation_id
        if operation is None:
            if machine not in operations:
                operations[machine] = running(machine)
            operation = operations[machine]
        ts = bind_ts(message.ts)
        extend((site, machine, metric, ts, value, operation) for metric, value in message.readings.items())
    return rows


class _Inserter:
    """The fastest correct executemany of reading rows for the engine's dialect.

    SQLite: the INSERT compiled once by SQLAlchemy, run by the driver with plain tuples and the time
    converted by the column's own bind processor (so queries compare the same text). Its per-row
    parameter processing was most of the ingestion time. Other databases: SQLAlchemy Core executemany.
    """

    def __init__(self, engine: Engine) -> None:
        self.fast = engine.dialect.name == "sqlite"
        processor = READINGS.c.ts.type._cached_bind_processor(engine.dialect)
        self.bind_ts: Callable[[datetime], Any] = processor if self.fast and processor else _same
        compiled = insert(READINGS).compile(dialect=engine.dialect, column_keys=list(COLUMNS))
        self.sql = str(compiled)
        if self.fast and tuple(compiled.positiontup or ()) != COLUMNS:  # pragma: no cover - a new SQLAlchemy
            self.fast, self.bind_ts = False, _same

    def insert(self, connection: Connection, rows: list[ReadingRow]) -> None:
        if self.fast:
            connection.exec_driver_sql(self.sql, rows)
        else:
            connection.execute(insert(READINGS), [dict(zip(COLUMNS, row, strict=True)) for row in rows])


def _same(value: datetime) -> datetime:
    return value


class ReadingWriter:
    """Writes batches of messages on one connection kept open, one transaction per batch.

    Single-threaded by design: the subscriber's writer thread owns it. On SQLite it takes the
    process's write turn per batch, so API requests that write interleave with ingestion.
    """

    def __init__(self, engine: Engine, running: RunningOperations = running_operations) -> None:
        self._engine = engine
        self._running = running
        self._connection: Connection | None = None
        self._inserter = _Inserter(engine)
        self.limits: MachineLimits = {}

    def _connect(self) -> Connection:
        if self._connection is None or self._connection.closed:
            self._connection = self._engine.connect()
        return self._connection

    def write(self, messages: Sequence[Message], received_at: datetime) -> WriteReport:
        """Store the readings and raise an alert for each new limit breach, in one transaction.

        A message that names no operation is charged to the one its machine runs, read in the same
        transaction, so its readings and any alert they raise name the step (and through it the unit).
        """
        if not any(message.readings for message in messages):
            return WriteReport(0, 0)
        unnamed = {(m.site, m.machine) for m in messages if m.operation_id is None}
        connection = self._connect()
        try:
            with write_lock(self._engine), connection.begin():
                running = self._running(connection, unnamed) if unnamed else {}
                rows = reading_rows(messages, running.get, self._inserter.bind_ts)
                found = breaches(messages, self.limits, running.get) if self.limits else []
                self._inserter.insert(connection, rows)
                raised = raise_limit_alerts(connection, found, received_at) if found else 0
        except Exception:
            self.close()  # a broken connection is not reused
            raise
        return WriteReport(len(rows), raised)

    def run(self, action: Callable[[Connection], Any]) -> Any:
        """Run `action` in a transaction of this writer's connection (silence, rollups)."""
        connection = self._connect()
        try:
            with write_lock(self._engine), connection.begin():
                return action(connection)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _open_keys(connection: Connection, kind: str, machines: Iterable[str]) -> set[tuple[str, str]]:
    """(machine, metric or '') of the open alerts of `kind` on these machines."""
    query = select(ALERTS.c.machine, ALERTS.c.metric).where(
        ALERTS.c.closed_at.is_(None), ALERTS.c.kind == kind, ALERTS.c.machine.in_(sorted(set(machines)))
    )
    return {(machine, metric or "") for machine, metric in connection.execute(query)}


def raise_limit_alerts(connection: Connection, found: Sequence[Breach], at: datetime) -> int:
    """An alert for each breach whose (machine, metric) has no open limit alert; how many were raised."""
    open_keys = _open_keys(connection, "limit", (breach.machine for breach in found))
    rows = [
        _alert("limit", breach.site, breach.machine, breach.metric, breach.message, at, breach.operation_id)
        for breach in found
        if (breach.machine, breach.metric) not in open_keys
    ]
    if rows:
        connection.execute(insert(ALERTS), rows)
    return len(rows)


def raise_silence_alerts(connection: Connection, silences: Sequence[Silence], now: datetime) -> int:
    """A `silent` alert for each machine gone quiet that has none open yet."""
    if not silences:
        return 0
    open_keys = _open_keys(connection, "silent", (silence.machine for silence in silences))
    rows = [
        _alert("silent", s.site, s.machine, None, s.message(now), now, None)
        for s in silences
        if (s.machine, "") not in open_keys
    ]
    if rows:
        connection.execute(insert(ALERTS), rows)
    return len(rows)


def close_silence_alerts(connection: Connection, machines: Iterable[str], now: datetime) -> int:
    """A machine that reports again is no longer silent: its open `silent` alerts close."""
    result = connection.execute(
        update(ALERTS)
        .where(
            ALERTS.c.kind == "silent", ALERTS.c.closed_at.is_(None), ALERTS.c.machine.in_(sorted(machines))
        )
        .values(closed_at=now, closed_by="telemetry: reporting again")
    )
    return result.rowcount


def silent_machines(connection: Connection) -> set[str]:
    """Machines with an open `silent` alert (the subscriber closes them when they speak)."""
    query = select(ALERTS.c.machine).where(ALERTS.c.kind == "silent", ALERTS.c.closed_at.is_(None))
    return set(connection.scalars(query))


def last_readings(connection: Connection, since: datetime) -> dict[str, tuple[str, datetime]]:
    """machine -> (site, newest ts) over readings since `since`: who was reporting before a restart."""
    query = (
        select(READINGS.c.machine, READINGS.c.site, READINGS.c.ts)
        .where(READINGS.c.ts >= since)
        .order_by(READINGS.c.ts)
    )
    return {machine: (site, ts) for machine, site, ts in connection.execute(query)}


def _alert(
    kind: str,
    site: str,
    machine: str,
    metric: str | None,
    message: str,
    at: datetime,
    operation_id: str | None,
) -> dict[str, Any]:
    return {
        "id": new_id("alr"),
        "kind": kind,
        "site": site,
        "machine": machine,
        "metric": metric,
        "message": message,
        "at": at,
        "operation_id": operation_id,
        "closed_at": None,
        "closed_by": None,
    }


# Downsampling


def roll_up(connection: Connection, retention: Retention, now: datetime, batch: int = 100_000) -> int:
    """Replace raw readings older than the retention's cutoff with rollups; how many readings went.

    Works in batches of the oldest rows, merging into rollups already stored for the same buckets
    (a reading that arrives late joins its bucket instead of making a second one).
    """
    cutoff = retention.cutoff(now)
    total = 0
    while True:
        query = (
            select(READINGS.c.id, READINGS.c.site, READINGS.c.machine, READINGS.c.metric, READINGS.c.ts)
            .add_columns(READINGS.c.value)
            .where(READINGS.c.ts < cutoff)
            .order_by(READINGS.c.id)
            .limit(batch)
        )
        rows = connection.execute(query).all()
        if not rows:
            return total
        rollups = downsample(((r.site, r.machine, r.metric, r.ts, r.value) for r in rows), retention.bucket)
        _store_rollups(connection, rollups)
        last = rows[-1].id
        connection.execute(delete(READINGS).where(READINGS.c.ts < cutoff, READINGS.c.id <= last))
        total += len(rows)
        if len(rows) < batch:
            return total


def _store_rollups(connection: Connection, rollups: Sequence[Rollup]) -> None:
    """Insert new buckets; merge into those already stored."""
    fresh = {(r.machine, r.metric, r.bucket): r for r in rollups}
    stored = _stored_rollups(connection, list(fresh))
    for key, (row_id, old) in stored.items():
        merged = old.merged(fresh.pop(key))
        connection.execute(
            update(ROLLUPS)
            .where(ROLLUPS.c.id == row_id)
            .values(count=merged.count, low=merged.low, mean=merged.mean, high=merged.high)
        )
    if fresh:
        connection.execute(insert(ROLLUPS), [_rollup_row(r) for r in fresh.values()])


def _stored_rollups(
    connection: Connection, keys: Sequence[tuple[str, str, datetime]]
) -> dict[tuple[str, str, datetime], tuple[int, Rollup]]:
    if not keys:
        return {}
    low, high = min(k[2] for k in keys), max(k[2] for k in keys)
    pairs = sorted({(machine, metric) for machine, metric, _ in keys})
    query = select(ROLLUPS).where(
        and_(ROLLUPS.c.bucket >= low, ROLLUPS.c.bucket <= high),
        tuple_(ROLLUPS.c.machine, ROLLUPS.c.metric).in_(pairs),
    )
    wanted = set(keys)
    found: dict[tuple[str, str, datetime], tuple[int, Rollup]] = {}
    for row in connection.execute(query):
        key = (row.machine, row.metric, row.bucket)
        if key in wanted:
            rollup = Rollup(
                row.site,
                row.machine,
                row.metric,
                row.bucket,
                row._mapping["count"],
                row.low,
                row.mean,
                row.high,
            )
            found[key] = (row.id, rollup)
    return found


def _rollup_row(rollup: Rollup) -> dict[str, Any]:
    return {
        "site": rollup.site,
        "machine": rollup.machine,
        "metric": rollup.metric,
        "bucket": rollup.bucket,
        "count": rollup.count,
        "low": rollup.low,
        "mean": rollup.mean,
        "high": rollup.high,
    }
