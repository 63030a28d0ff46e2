"""The JSON of quality: inspections, NCRs and machine holds, as the API and `--json` answer them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from microfactory.db.tables.quality import InspectionRow, MachineHoldRow, NcrRow
from microfactory.db.unit_of_work import UnitOfWork


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def inspection_view(row: InspectionRow) -> dict[str, Any]:
    """One verdict with its evidence: each check's inspector, version, score and regions."""
    return {
        "id": row.id,
        "serial": row.serial,
        "work_order_id": row.work_order_id,
        "site": row.site,
        "product": row.product,
        "verdict": row.verdict,
        "manual": row.manual,
        "score": max((float(check["score"]) for check in row.checks), default=0.0),
        "checks": row.checks,
        "regions": [
            finding["region"] for check in row.checks for finding in check["findings"] if finding["region"]
        ],
        "machines": row.machines,
        "image_id": row.image_id,
        "station": row.station,
        "actor": row.actor,
        "note": row.note,
        "at": _time(row.created_at),
    }


def unit_inspection_views(uow: UnitOfWork, serial: str) -> list[dict[str, Any]]:
    """A unit's inspections, oldest first (the unit trace's `inspections`)."""
    rows = uow.session.scalars(
        select(InspectionRow)
        .where(InspectionRow.serial == serial)
        .order_by(InspectionRow.created_at, InspectionRow.id)
    )
    return [inspection_view(row) for row in rows]


def ncr_view(row: NcrRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "serial": row.serial,
        "work_order_id": row.work_order_id,
        "inspection_id": row.inspection_id,
        "site": row.site,
        "product": row.product,
        "summary": row.summary,
        "status": row.status,
        "disposition": row.disposition,
        "reason": row.reason,
        "steps": row.steps,
        "disposed_by": row.disposed_by,
        "disposed_at": _time(row.disposed_at),
        "created_at": _time(row.created_at),
    }


def hold_view(row: MachineHoldRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "site": row.site,
        "machine": row.machine,
        "chart": row.chart,
        "rule": row.rule,
        "explanation": row.explanation,
        "signal": row.signal,
        "held_at": _time(row.held_at),
        "released_at": _time(row.released_at),
        "released_by": row.released_by,
        "release_reason": row.release_reason,
    }
