"""Machine telemetry under /api/v1: a metric's readings, the open alerts, acknowledging one."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query

from microfactory.api.auth import Caller
from microfactory.api.deps import Uow
from microfactory.db.base import utcnow
from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.production.telemetry import service
from microfactory.production.telemetry.model import parse_ts

router = APIRouter(prefix="/api/v1", tags=["telemetry"])
DEFAULT_WINDOW = timedelta(hours=1)


@router.get("/machines/{machine}/telemetry", responses={404: {}, 422: {}})
def machine_telemetry(
    uow: Uow,
    caller: Caller,
    machine: str,
    metric: str = Query(..., min_length=1, max_length=80, description="the reading, e.g. nozzle_temp"),
    since: str | None = Query(None, description="ISO 8601 with offset (default: one hour ago)"),
) -> list[dict[str, Any]]:
    """`[{"ts", "value"}]` oldest first: raw readings, minute means where older ones are rolled up."""
    start = _since(since) if since is not None else utcnow() - DEFAULT_WINDOW
    return [point.as_dict() for point in service.series(uow, machine, metric, start)]


@router.get("/alerts")
def list_alerts(
    uow: Uow, caller: Caller, machine: str | None = Query(None, max_length=80)
) -> list[dict[str, Any]]:
    """Open alerts, oldest first: limits breached and machines gone silent."""
    return [service.alert_view(alert) for alert in service.open_alerts(uow, machine)]


@router.post("/alerts/{alert_id}/ack", responses={404: {}})
def acknowledge_alert(uow: Uow, caller: Caller, alert_id: str) -> dict[str, Any]:
    """Close an alert (someone has seen it); a closed alert stays closed."""
    view = service.alert_view(service.acknowledge(uow, alert_id, caller))
    uow.commit()
    return view


def _since(raw: str) -> datetime:
    problems: list[Problem] = []
    parsed = parse_ts(raw, problems, "query.since")
    if parsed is None:
        raise Invalid("since is not a time", problems)
    return parsed
