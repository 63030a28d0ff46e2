"""What the quality pages show, read through quality's services: inspections, NCRs, holds, p-charts.

Read-only and free of HTTP, like `queries`. A site operator's `site` narrows every list to their
site; one record of another site is refused with 403 (`access.model.check_site`) by the route.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from microfactory.access.model import Principal, check_site
from microfactory.db.tables.quality import InspectionImageRow, InspectionRow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Forbidden, NotFound
from microfactory.quality import dispositions, spc_service
from microfactory.quality.charts import chart_png
from microfactory.quality.evidence import image_bytes
from microfactory.quality.views import hold_view, inspection_view, ncr_view
from microfactory.web.queries import site_of

RECENT = 50
CHART_KINDS = ("site", "machine")


class InspectionNotFound(NotFound):
    def __init__(self, inspection_id: str) -> None:
        super().__init__("inspection", inspection_id, f"no inspection {inspection_id!r}")


def recent_inspections(uow: UnitOfWork, site: str | None, limit: int = RECENT) -> list[dict[str, Any]]:
    """The newest inspections first, with their verdicts (a site's only, for its operator)."""
    query = select(InspectionRow).order_by(InspectionRow.created_at.desc(), InspectionRow.id.desc())
    if site is not None:
        query = query.where(InspectionRow.site == site)
    return [inspection_view(row) for row in uow.session.scalars(query.limit(limit))]


def get_inspection(uow: UnitOfWork, inspection_id: str, who: Principal) -> InspectionRow:
    row = uow.session.get(InspectionRow, inspection_id)
    if row is None:
        raise InspectionNotFound(inspection_id)
    check_site(who, row.site)
    return row


def inspection_page(uow: UnitOfWork, inspection_id: str, who: Principal) -> dict[str, Any]:
    """One inspection with its image's size (for the regions drawn over it), its checks and NCR."""
    row = get_inspection(uow, inspection_id, who)
    picture = uow.session.get(InspectionImageRow, row.image_id) if row.image_id else None
    ncrs = [ncr_view(n) for n in dispositions.list_ncrs(uow, site=row.site) if n.inspection_id == row.id]
    return {
        "inspection": inspection_view(row),
        "image": None if picture is None else {"width": picture.width, "height": picture.height},
        "ncrs": ncrs,
        "history": [
            inspection_view(other)
            for other in uow.session.scalars(
                select(InspectionRow)
                .where(InspectionRow.serial == row.serial)
                .order_by(InspectionRow.created_at, InspectionRow.id)
            )
        ],
    }


def inspection_image(uow: UnitOfWork, inspection_id: str, who: Principal) -> tuple[bytes, str]:
    """The image an inspection judged, as uploaded, and its content type."""
    row = get_inspection(uow, inspection_id, who)
    picture = uow.session.get(InspectionImageRow, row.image_id) if row.image_id else None
    if picture is None:
        raise NotFound(
            "image", inspection_id, f"inspection {inspection_id} has no image (a person's verdict)"
        )
    return image_bytes(picture), picture.content_type


def open_ncrs(uow: UnitOfWork, site: str | None) -> list[dict[str, Any]]:
    """Open NCRs, oldest first, each with the steps a rework may name."""
    return [dispositions.ncr_detail(uow, row) for row in dispositions.list_ncrs(uow, "open", site, limit=200)]


def recently_disposed(uow: UnitOfWork, site: str | None, limit: int = 20) -> list[dict[str, Any]]:
    rows = dispositions.list_ncrs(uow, "disposed", site, limit=1000)
    return [ncr_view(row) for row in sorted(rows, key=lambda r: r.disposed_at or r.created_at)[-limit:][::-1]]


def machine_holds(uow: UnitOfWork, site: str | None) -> list[dict[str, Any]]:
    return [hold_view(row) for row in spc_service.list_holds(uow, site=site)]


def charts(uow: UnitOfWork, site: str | None) -> list[dict[str, str]]:
    """The p-charts worth showing: each site with inspections, and each machine on hold."""
    query = select(InspectionRow.site).distinct().order_by(InspectionRow.site)
    if site is not None:
        query = query.where(InspectionRow.site == site)
    shown = [
        {"by": "site", "key": key, "title": f"Defect rate of site {key}"}
        for key in uow.session.scalars(query)
    ]
    for hold in spc_service.list_holds(uow, site=site):
        shown.append(
            {"by": "machine", "key": hold.machine, "title": f"Defect rate of machine {hold.machine}"}
        )
    return shown


def chart_image(uow: UnitOfWork, by: str, key: str, who: Principal) -> bytes:
    """A p-chart as PNG; a site operator charts their own site and its machines only."""
    if by not in CHART_KINDS:
        raise NotFound("chart", f"{by}/{key}", f"no chart of a {by!r}: one of {', '.join(CHART_KINDS)}")
    if by == "site":
        check_site(who, key)
    elif who.role == "site" and who.site is not None:
        _ctx, own = site_of(uow, who.site)
        if key not in {machine.id for machine in own.machines}:
            raise Forbidden(f"machine {key!r} is not one of site {who.site!r}'s machines")
    return chart_png(spc_service.defect_chart(uow, by, key))
