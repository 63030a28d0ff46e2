"""A unit's trace: everything known of how it was made, found from its serial.

Order, line and work order; the site, batches and machines; who ran each step and with which
program; the material of each printed part and its lot (as reported, else the site's lot
in the network at the start, else null); the telemetry
window to read the machines' readings over; and, as quality and logistics land, its inspections
and its parcel. The steps listed are those that made it: the live operations, never a superseded
plan's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from microfactory.db.tables.channels import FulfilmentSyncRow
from microfactory.db.tables.logistics import ShipmentRow
from microfactory.db.tables.orders import WorkOrderRow
from microfactory.db.tables.production import OperationRow, UnitRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import NotFound
from microfactory.production.progress import live_operations
from microfactory.production.views import operation_view
from microfactory.quality.views import unit_inspection_views


class UnitNotFound(NotFound):
    def __init__(self, serial: str) -> None:
        super().__init__("unit", serial, f"no unit with serial {serial!r}")


def get_unit(uow: UnitOfWork, serial: str) -> UnitRow:
    unit = uow.session.get(UnitRow, serial)
    if unit is None:
        raise UnitNotFound(serial)
    return unit


def unit_trace(uow: UnitOfWork, serial: str) -> dict[str, Any]:
    """The unit's trace as the API and `microfactory units show --json` answer it."""
    unit = get_unit(uow, serial)
    work_order = uow.session.get(WorkOrderRow, unit.work_order_id)
    assert work_order is not None  # the foreign key keeps it
    line = work_order.line
    steps = live_operations(uow, work_order.id)
    return {
        "serial": unit.serial,
        "order_id": line.order_id,
        "line_id": line.id,
        "work_order_id": work_order.id,
        "product": work_order.product,
        "configuration_key": work_order.configuration_key,
        "seq": unit.seq,
        "of": work_order.qty,
        "site": unit.site,
        "made_at": unit.made_at.isoformat(),
        "batches": sorted({step.batch for step in steps if step.batch}),
        "machines": sorted({step.machine for step in steps}),
        "operators": sorted({step.operator for step in steps if step.operator}),
        "programs": sorted({step.program for step in steps if step.program}),
        "materials": _materials(steps),
        "telemetry_window": _window(steps),
        "operations": [operation_view(step) for step in steps],
        "inspections": unit_inspection_views(uow, serial),
        "shipment": _shipment(uow, line.order_id, line.id),
    }


def _materials(steps: list[OperationRow]) -> list[dict[str, Any]]:
    return [
        {"part": step.params.get("part"), "material": step.params["material"], "lot": step.material_lot}
        for step in steps
        if step.params.get("material")
    ]


def _window(steps: list[OperationRow]) -> dict[str, Any] | None:
    """From the first start to the last finish, on the machines that ran the steps."""
    starts = [step.started_at for step in steps if step.started_at]
    ends = [step.finished_at for step in steps if step.finished_at]
    if not starts:
        return None
    return {
        "from": min(starts).isoformat(),
        "to": max(ends).isoformat() if ends else None,
        "machines": sorted({step.machine for step in steps if step.started_at}),
    }


def _shipment(uow: UnitOfWork, order_id: str, line_id: str) -> dict[str, Any] | None:
    """The parcel that took the unit's line, if one has (a parcel without lines takes them all):
    logistics' parcel first, else one reported by hand."""
    for ours in uow.session.scalars(
        select(ShipmentRow).where(ShipmentRow.order_id == order_id).order_by(ShipmentRow.created_at)
    ):
        if any(entry.get("line_id") == line_id for entry in ours.lines):
            return {
                "id": ours.id,
                "tracking_number": ours.tracking_number,
                "carrier": ours.carrier,
                "url": ours.tracking_url,
                "status": ours.status,
                "partner": ours.partner,
            }
    for parcel in uow.session.scalars(
        select(FulfilmentSyncRow)
        .where(FulfilmentSyncRow.order_id == order_id)
        .order_by(FulfilmentSyncRow.created_at)
    ):
        if parcel.lines is None or any(entry.get("line_id") == line_id for entry in parcel.lines):
            return {
                "id": parcel.id,
                "tracking_number": parcel.tracking_number,
                "carrier": parcel.tracking_company,
                "url": parcel.tracking_url,
                "status": parcel.status,
            }
    return None
