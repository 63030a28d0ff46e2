"""Quality under /api/v1: inspections of units, NCRs and their dispositions, SPC charts, machine holds.

Roles (`access.model`): a station's `site` token records and reads its own site's inspections; an
`inspector` records, gives verdicts, disposes NCRs and releases holds; `admin` does everything;
reads are open to every role that reads. Inspecting runs image code, so those routes are plain
`def` (FastAPI's threadpool), never on the event loop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from microfactory.access.model import check_site
from microfactory.api.auth import Who
from microfactory.api.deps import Uow, container_of
from microfactory.api.errors import error_body
from microfactory.db.tables.quality import InspectionImageRow, InspectionRow
from microfactory.errors import NotFound
from microfactory.production.trace import get_unit
from microfactory.quality import dispositions, recording, spc_service
from microfactory.quality.charts import chart_png
from microfactory.quality.evidence import ImageTooLarge, image_bytes, read_upload
from microfactory.quality.inspectors import Verdict
from microfactory.quality.spc_runs import run_spc
from microfactory.quality.views import hold_view, ncr_view

router = APIRouter(prefix="/api/v1", tags=["quality"])
INSPECTION_UPLOAD = re.compile(r"/api/v1/units/[^/]+/inspections")
UPLOAD_OVERHEAD = 64 * 1024  # multipart boundaries and the station field around the image


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/units/{serial}/inspections", status_code=201, responses={413: {}, 422: {}, 409: {}})
def post_inspection(
    serial: str,
    request: Request,
    uow: Uow,
    who: Who,
    image: UploadFile = File(..., description="the unit's photo: PNG, JPEG, BMP, TIFF or WebP"),
    station: str | None = Form(None, max_length=120),
) -> Any:
    """Judge the image with the product's applicable checks and record the verdict with its evidence."""
    check_site(who, get_unit(uow, serial).site)
    settings = container_of(request).settings.quality
    try:
        upload = read_upload(image.file.read(settings.image_max_bytes + 1), settings)
    except ImageTooLarge as error:
        return JSONResponse(
            error_body(str(error), [{"path": "image", "message": str(error)}]), status_code=413
        )
    view = recording.record_inspection(
        uow, serial, upload, station=station, actor=who.actor, settings=settings, now=_now()
    )
    uow.commit()
    return view


class ManualVerdictIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["pass", "fail"]
    note: str | None = Field(None, max_length=2000)
    station: str | None = Field(None, max_length=120)


@router.post("/units/{serial}/inspections/manual", status_code=201)
def post_manual_verdict(serial: str, body: ManualVerdictIn, uow: Uow, who: Who) -> dict[str, Any]:
    """A person's verdict on a unit (a failure needs a note); recorded like any inspection."""
    check_site(who, get_unit(uow, serial).site)
    view = recording.record_manual(
        uow, serial, Verdict(body.verdict), note=body.note, station=body.station, actor=who.actor, now=_now()
    )
    uow.commit()
    return view


@router.get("/units/{serial}/inspections")
def get_unit_inspections(serial: str, uow: Uow, who: Who) -> list[dict[str, Any]]:
    """The unit's inspections, oldest first, each with its checks, scores, regions and evidence."""
    check_site(who, get_unit(uow, serial).site)
    return recording.unit_inspections(uow, serial)


@router.get("/units/{serial}/inspection-plan")
def get_inspection_plan(serial: str, uow: Uow, who: Who) -> dict[str, Any]:
    """Whether the unit is sampled (pilot or steady run) and which of its product's checks apply."""
    check_site(who, get_unit(uow, serial).site)
    return recording.inspection_due(uow, serial)


@router.get("/inspections/{inspection_id}/image", response_class=Response)
def get_inspection_image(inspection_id: str, uow: Uow, who: Who) -> Response:
    """The image an inspection judged, as it was uploaded."""
    inspection = uow.session.get(InspectionRow, inspection_id)
    if inspection is None:
        raise NotFound("inspection", inspection_id, f"no inspection {inspection_id!r}")
    check_site(who, inspection.site)
    picture = uow.session.get(InspectionImageRow, inspection.image_id) if inspection.image_id else None
    if picture is None:
        raise NotFound(
            "image", inspection_id, f"inspection {inspection_id} has no image (a person's verdict)"
        )
    return Response(image_bytes(picture), media_type=picture.content_type)


@router.get("/ncrs")
def list_ncrs(
    uow: Uow,
    who: Who,
    status: Literal["open", "disposed"] | None = Query(None),
    site: str | None = Query(None, max_length=80),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> list[dict[str, Any]]:
    """Non-conformance reports, oldest first."""
    if who.role == "site":
        check_site(who, site)
    return [ncr_view(row) for row in dispositions.list_ncrs(uow, status, site, limit, offset)]


@router.get("/ncrs/{ncr_id}")
def get_ncr(ncr_id: str, uow: Uow, who: Who) -> dict[str, Any]:
    """One NCR with the inspection that opened it and the steps a rework may make again."""
    ncr = dispositions.get_ncr(uow, ncr_id)
    check_site(who, ncr.site)
    return dispositions.ncr_detail(uow, ncr)


class DisposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: dispositions.Disposition
    reason: str = Field(..., min_length=1, max_length=2000)
    steps: list[str] | None = Field(
        None, max_length=200, description="rework/repair: the steps to make again"
    )


@router.post("/ncrs/{ncr_id}/dispose")
def dispose_ncr(ncr_id: str, body: DisposeIn, uow: Uow, who: Who) -> dict[str, Any]:
    """A person's decision: use as is, rework, repair or scrap, with a reason; 409 if already decided."""
    ncr = dispositions.dispose(uow, ncr_id, body.disposition, body.reason, who.actor, _now(), body.steps)
    detail = dispositions.ncr_detail(uow, ncr)
    uow.commit()
    return detail


@dataclass(frozen=True, slots=True)
class SpcAsk:
    """What a control chart is asked of: one subject (machine, site or product), a metric, a size."""

    machine: str | None
    site: str | None
    product: str | None
    metric: str | None
    size: int

    def run(self, uow: Uow, hold: bool) -> Any:
        return run_spc(
            uow,
            _now(),
            machine=self.machine,
            site=self.site,
            product=self.product,
            metric=self.metric,
            size=self.size,
            hold=hold,
        )


def _subject(description: str) -> Any:
    """A fresh `Query` per parameter: FastAPI binds a Query object to the first name it meets."""
    return Query(None, max_length=120, description=description)


def spc_ask(
    machine: str | None = _subject("a machine: its defect rate (and a metric's chart)"),
    site: str | None = _subject("a site: its defect rate"),
    product: str | None = _subject("a product: its defect rate"),
    metric: str | None = _subject("a telemetry metric of the machine"),
    size: int = Query(1, ge=1, le=10, description="1: individuals chart; 2..10: X-bar/R subgroups"),
) -> SpcAsk:
    """The query of the three SPC routes, declared once."""
    return SpcAsk(machine, site, product, metric, size)


Ask = Annotated[SpcAsk, Depends(spc_ask)]


@router.get("/quality/spc")
def get_spc(uow: Uow, ask: Ask) -> dict[str, Any]:
    """Control charts of one machine, site or product with their signals (nothing is held)."""
    result: dict[str, Any] = ask.run(uow, hold=False).as_dict()
    return result


@router.get("/quality/spc.png", response_class=Response)
def get_spc_png(uow: Uow, ask: Ask) -> Response:
    """The last chart asked for (the metric's, when one is named) as a PNG."""
    charts = ask.run(uow, hold=False).charts
    return Response(chart_png(charts[-1]), media_type="image/png")


@router.post("/quality/spc")
def post_spc(uow: Uow, ask: Ask) -> dict[str, Any]:
    """Chart and act: a machine whose newest point is out of control goes on hold for new jobs."""
    result: dict[str, Any] = ask.run(uow, hold=True).as_dict()
    uow.commit()
    return result


@router.get("/quality/holds")
def list_holds(
    uow: Uow, all_holds: bool = Query(False, alias="all"), site: str | None = Query(None, max_length=80)
) -> list[dict[str, Any]]:
    """Machines on hold for new jobs (with `all=true`, released holds too), each with its signal."""
    return [hold_view(row) for row in spc_service.list_holds(uow, everything=all_holds, site=site)]


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., min_length=1, max_length=2000)
    site: str | None = Field(None, max_length=80)


@router.post("/quality/holds/{machine}/release")
def release_hold(machine: str, body: ReleaseIn, uow: Uow, who: Who) -> dict[str, Any]:
    """A person releases a machine's hold with a reason; 409 when it is not on hold."""
    row = spc_service.release_hold(uow, machine, body.reason, who.actor, _now(), body.site)
    uow.commit()
    return hold_view(row)
