"""Production under /api/v1: release a site's plan, the agent's operations and reports, unit traces.

Every route names a site, directly or through what it reads, and a `site` token reaches its own
site only (`access.model.check_site`, 403 elsewhere). Releasing solves for seconds, so it is a
plain `def` (FastAPI's threadpool), like the plan routes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from microfactory.access.model import Principal, check_site
from microfactory.api.auth import Who
from microfactory.api.deps import Uow
from microfactory.db.base import utcnow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Invalid
from microfactory.problems import Problem
from microfactory.production import stations
from microfactory.production.model import Event, OperationStatus, Report
from microfactory.production.release import release_plan
from microfactory.production.reports import apply_reports, write_first
from microfactory.production.trace import get_unit, unit_trace
from microfactory.production.views import operation_view, site_operations
from microfactory.scheduling.site_plan import SitePlanSettings

router = APIRouter(prefix="/api/v1", tags=["production"])
STATUSES = tuple(status.value for status in OperationStatus)


class ReportIn(BaseModel):
    """One report of the agent (spec: the agent API); `id` is the agent's, made once per happening."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(..., min_length=1, max_length=80)
    operation_id: str = Field(..., min_length=1, max_length=40)
    event: Literal["started", "finished", "failed"]
    machine: str = Field(..., min_length=1, max_length=80)
    at: AwareDatetime
    operator: str | None = Field(None, max_length=120)
    message: str | None = Field(None, max_length=2000)
    program: str | None = Field(None, max_length=300)
    material_lot: str | None = Field(
        None, min_length=1, max_length=120, description="the lot of the material used, if known"
    )

    def report(self) -> Report:
        return Report(
            id=self.id,
            operation_id=self.operation_id,
            event=Event(self.event),
            machine=self.machine,
            at=self.at.astimezone(UTC),
            operator=self.operator,
            message=self.message,
            program=self.program,
            material_lot=self.material_lot,
        )


class ReportsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reports: list[ReportIn] = Field(..., max_length=500)


@router.post("/sites/{site_id}/plan")
def release_site_plan(
    site_id: str,
    uow: Uow,
    who: Who,
    time_limit: float = Query(10.0, ge=1, le=60, description="seconds the solver may take (1 to 60)"),
) -> dict[str, Any]:
    """Plan the site's accepted work, store the plan and release its operations to the site's agent."""
    check_site(who, site_id)
    release = release_plan(
        uow, site_id, datetime.now(UTC), SitePlanSettings(time_limit=time_limit), actor=who.actor
    )
    uow.commit()
    return release.as_dict()


@router.get("/sites/{site_id}/operations")
def list_site_operations(
    site_id: str,
    uow: Uow,
    who: Who,
    status: list[str] | None = Query(None, description="only these statuses (repeat for several)"),
) -> list[dict[str, Any]]:
    """The site's operations of its current plan, by planned start, each with whether it is ready."""
    check_site(who, site_id)
    unknown = [value for value in status or () if value not in STATUSES]
    if unknown:
        problems = [
            Problem("query.status", f"{value!r} is not one of {', '.join(STATUSES)}") for value in unknown
        ]
        raise Invalid("unknown operation status", problems)
    return site_operations(uow, site_id, status)


@router.post("/sites/{site_id}/reports")
def post_reports(site_id: str, body: ReportsIn, uow: Uow, who: Who) -> dict[str, Any]:
    """Apply the agent's reports, each exactly once; 403 for all of them if one is another site's."""
    check_site(who, site_id)
    results = apply_reports(uow, site_id, [item.report() for item in body.reports], actor=who.actor)
    uow.commit()
    return {"results": [result.as_dict() for result in results]}


class StationIn(BaseModel):
    """A person's word on a step at a manual station (a bench, a page on the shop floor)."""

    model_config = ConfigDict(extra="forbid")

    operator: str | None = Field(None, min_length=1, max_length=120, description="who (the trace names them)")
    machine: str | None = Field(
        None, min_length=1, max_length=80, description="start only: the station used, if not the planned one"
    )
    material_lot: str | None = Field(
        None,
        min_length=1,
        max_length=120,
        description="the lot of the material used; else the site's current lot from the network, else unknown",
    )


def _by_hand(
    uow: UnitOfWork, who: Principal, operation_id: str, event: Event, body: StationIn
) -> dict[str, Any]:
    write_first(uow)  # SQLite: this transaction writes; take the write lock before reading
    check_site(who, stations.get_operation(uow, operation_id).site)
    stations.report_by_hand(
        uow,
        operation_id,
        event,
        utcnow(),
        body.operator,
        body.machine,
        actor=who.actor,
        material_lot=body.material_lot,
    )
    uow.commit()
    return operation_view(stations.get_operation(uow, operation_id))


@router.post("/operations/{operation_id}/start")
def start_operation(operation_id: str, uow: Uow, who: Who, body: StationIn | None = None) -> dict[str, Any]:
    """A person starts a step (a manual station's), as `operations start` does: 409 with the reason
    when it cannot start now (waiting for earlier steps, held, running), 403 for another site's token.
    """
    return _by_hand(uow, who, operation_id, Event.STARTED, body or StationIn())


@router.post("/operations/{operation_id}/finish")
def finish_operation(operation_id: str, uow: Uow, who: Who, body: StationIn | None = None) -> dict[str, Any]:
    """A person finishes a running step; the last step of a work order makes it and numbers its units."""
    return _by_hand(uow, who, operation_id, Event.FINISHED, _no_machine(body))


@router.post("/operations/{operation_id}/fail")
def fail_operation(operation_id: str, uow: Uow, who: Who, body: StationIn | None = None) -> dict[str, Any]:
    """A running step failed; it may be started again."""
    return _by_hand(uow, who, operation_id, Event.FAILED, _no_machine(body))


def _no_machine(body: StationIn | None) -> StationIn:
    """A step finishes or fails where it started: naming a station is for starting only."""
    if body is not None and body.machine is not None:
        raise Invalid(
            "a step ends where it started", [Problem("body.machine", "name the station when starting only")]
        )
    return body or StationIn()


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., min_length=1, max_length=500, description="why: the agent and the trace show it")


@router.post("/operations/{operation_id}/hold")
def hold_operation(operation_id: str, body: HoldIn, uow: Uow, who: Who) -> dict[str, Any]:
    """Hold a step that is not running (quality, a machine to check): its site's agent leaves it alone.

    404 for an unknown step, 403 for another site's token, 409 when the step runs or is done.
    """
    reason = body.reason.strip()
    if not reason:
        raise Invalid("no reason", [Problem("body.reason", "say why the step is held")])
    write_first(uow)  # SQLite: this transaction writes; take the write lock before reading
    check_site(who, stations.get_operation(uow, operation_id).site)
    operation = stations.hold(uow, operation_id, reason)
    uow.commit()
    return operation_view(operation)


@router.post("/operations/{operation_id}/unhold")
def unhold_operation(operation_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    """Give a held step back to its site (released again; its hold reason stays in the trace)."""
    write_first(uow)
    check_site(who, stations.get_operation(uow, operation_id).site)
    operation = stations.release_hold(uow, operation_id)
    uow.commit()
    return operation_view(operation)


@router.get("/units/{serial}")
def get_unit_trace(serial: str, uow: Uow, who: Who) -> dict[str, Any]:
    """A unit's trace: order, work order, site, machines, operators, materials, inspections, parcel."""
    check_site(who, get_unit(uow, serial).site)
    return unit_trace(uow, serial)
