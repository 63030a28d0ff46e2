"""Telemetry use cases for the API and the CLI: a metric's series, open alerts, acknowledging one.

A series reads the raw readings and, for what has been rolled up already, the minute means, so a
caller asking for a week gets one answer regardless of where the retention cut falls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from microfactory.db.base import utcnow
from microfactory.db.tables.production import OperationRow
from microfactory.db.tables.telemetry import AlertRow, TelemetryReadingRow, TelemetryRollupRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound
from microfactory.network.stored_state import active_network_row, network_of
from microfactory.production.model import OperationStatus
from microfactory.production.telemetry.model import MachineLimits, limits_from

MAX_POINTS = 100_000  # one answer's size; ask for a later `since` to read on


class AlertNotFound(NotFound):
    def __init__(self, alert_id: str) -> None:
        super().__init__("alert", alert_id)


@dataclass(frozen=True, slots=True)
class Point:
    ts: datetime
    value: float

    def as_dict(self) -> dict[str, Any]:
        return {"ts": self.ts.isoformat(), "value": self.value}


def running_operation(uow: UnitOfWork, machine: str) -> str | None:
    """The operation `machine` runs now (the last started, should reports overlap); None when idle.

    The subscriber charges readings that name no operation with it, a batch at a time
    (`store.running_operations`); this is the same question for one machine, for a person asking.
    """
    return uow.session.scalar(
        select(OperationRow.id)
        .where(
            OperationRow.machine == machine,
            OperationRow.status == OperationStatus.RUNNING.value,
            OperationRow.superseded_at.is_(None),
        )
        .order_by(OperationRow.started_at.desc(), OperationRow.id.desc())
        .limit(1)
    )


def series(uow: UnitOfWork, machine: str, metric: str, since: datetime) -> list[Point]:
    """The metric's values since `since`, oldest first: minute means where rolled up, then raw readings."""
    readings, rollups = TelemetryReadingRow, TelemetryRollupRow
    rolled = uow.session.execute(
        select(rollups.bucket, rollups.mean)
        .where(rollups.machine == machine, rollups.metric == metric, rollups.bucket >= since)
        .order_by(rollups.bucket)
        .limit(MAX_POINTS)
    ).all()
    raw = uow.session.execute(
        select(readings.ts, readings.value)
        .where(readings.machine == machine, readings.metric == metric, readings.ts >= since)
        .order_by(readings.ts, readings.id)
        .limit(MAX_POINTS)
    ).all()
    if not rolled and not raw and not machine_known(uow, machine):
        raise NotFound("machine", machine)
    points = [Point(ts, value) for ts, value in rolled] + [Point(ts, value) for ts, value in raw]
    points.sort(key=lambda point: point.ts)  # stable: raw readings of one instant keep their order
    return points[:MAX_POINTS]


def machine_known(uow: UnitOfWork, machine: str) -> bool:
    """A machine of the active network, or one that has reported."""
    row = active_network_row(uow)
    if row is not None:
        network = network_of(row)
        if any(m.id == machine for site in network.sites.values() for m in site.machines):
            return True
    query = select(TelemetryReadingRow.id).where(TelemetryReadingRow.machine == machine).limit(1)
    return uow.session.scalar(query) is not None


def machine_limits(uow: UnitOfWork) -> MachineLimits:
    """Each machine's limits in the active network (empty when none is loaded)."""
    row = active_network_row(uow)
    if row is None:
        return {}
    network = network_of(row)
    return limits_from({m.id: m.limits for site in network.sites.values() for m in site.machines})


def open_alerts(uow: UnitOfWork, machine: str | None = None) -> list[AlertRow]:
    """Alerts not yet closed, oldest first."""
    query = select(AlertRow).where(AlertRow.closed_at.is_(None))
    if machine is not None:
        query = query.where(AlertRow.machine == machine)
    return list(uow.session.scalars(query.order_by(AlertRow.at, AlertRow.id)))


def acknowledge(uow: UnitOfWork, alert_id: str, actor: str) -> AlertRow:
    """Close an alert: someone has seen it. Acknowledging a closed alert changes nothing.

    A limit breached again afterwards raises a new alert.
    """
    alert = uow.session.get(AlertRow, alert_id)
    if alert is None:
        raise AlertNotFound(alert_id)
    if alert.closed_at is None:
        alert.closed_at = utcnow()
        alert.closed_by = actor
    return alert


def alert_view(alert: AlertRow) -> dict[str, Any]:
    """The contract's alert (`id, kind, site, machine, message, at`) and what else helps to act on it."""
    return {
        "id": alert.id,
        "kind": alert.kind,
        "site": alert.site,
        "machine": alert.machine,
        "message": alert.message,
        "at": alert.at.isoformat(),
        "metric": alert.metric,
        "operation_id": alert.operation_id,
        "closed_at": alert.closed_at.isoformat() if alert.closed_at else None,
    }


def latest_readings(uow: UnitOfWork, machines: list[str]) -> dict[str, dict[str, Point]]:
    """The newest raw reading of each metric of each machine (what a live site page shows)."""
    readings = TelemetryReadingRow
    if not machines:
        return {}
    newest = (
        select(readings.machine, readings.metric, func.max(readings.id).label("last"))
        .where(readings.machine.in_(sorted(machines)))
        .group_by(readings.machine, readings.metric)
        .subquery()
    )
    found: dict[str, dict[str, Point]] = {}
    for machine, metric, ts, value in uow.session.execute(
        select(readings.machine, readings.metric, readings.ts, readings.value)
        .join(newest, readings.id == newest.c.last)
        .order_by(readings.machine, readings.metric)
    ):
        found.setdefault(machine, {})[metric] = Point(ts, value)
    return found
