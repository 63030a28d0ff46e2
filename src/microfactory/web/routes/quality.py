"""The quality pages: inspections with their images and regions, NCR dispositions, p-charts, holds.

Every action calls quality's own use case, as the API does: a person's verdict is
`recording.record_manual`, a disposition `dispositions.dispose`, a hold's release
`spc_service.release_hold`. A site operator reads their own site's records only (403 by URL).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Form, Request
from starlette.responses import RedirectResponse, Response

from microfactory.api.deps import Uow
from microfactory.errors import Conflict, Invalid
from microfactory.problems import Problem
from microfactory.quality import dispositions, recording, spc_service
from microfactory.quality.dispositions import Disposition
from microfactory.quality.inspectors import Verdict
from microfactory.web import quality_queries as queries
from microfactory.web.access import check_action, check_page, may_do
from microfactory.web.auth import Csrf, User
from microfactory.web.render import flash, page
from microfactory.web.sections import QUALITY_SECTIONS, gather

router = APIRouter()
REASON = 2000
VERDICTS = {"pass": Verdict.PASS, "fail": Verdict.FAIL}


def _now() -> datetime:
    return datetime.now(UTC)


def _reason(text: str) -> str:
    if not text.strip():
        raise Invalid("a reason is needed", [Problem("reason", "say why (it is kept in the record)")])
    return text.strip()


@router.get("/quality")
def quality_page(request: Request, user: User, uow: Uow) -> Response:
    """Recent verdicts, open NCRs to dispose, machines on hold, p-charts; a site operator's own site."""
    check_page(user.principal, "quality")
    site = user.site if user.role == "site" else None
    return page(
        request,
        "quality.html",
        user,
        site=site,
        inspections=queries.recent_inspections(uow, site),
        ncrs=queries.open_ncrs(uow, site),
        disposed=queries.recently_disposed(uow, site),
        holds=queries.machine_holds(uow, site),
        charts=queries.charts(uow, site),
        sections=gather(uow, QUALITY_SECTIONS, site),
        dispositions=[d.value for d in Disposition],
        may_dispose=may_do(user.principal, "dispose-ncr"),
        may_release=may_do(user.principal, "release-hold"),
    )


@router.get("/quality/inspections/{inspection_id}")
def inspection_page(inspection_id: str, request: Request, user: User, uow: Uow) -> Response:
    """The image with each defect region drawn over it, the checks' scores and versions, the override."""
    check_page(user.principal, "quality")
    found = queries.inspection_page(uow, inspection_id, user.principal)
    return page(
        request,
        "inspection.html",
        user,
        **found,
        may_override=may_do(user.principal, "override-verdict"),
        dispositions=[d.value for d in Disposition],
        may_dispose=may_do(user.principal, "dispose-ncr"),
    )


@router.get("/quality/inspections/{inspection_id}/image")
def inspection_image(inspection_id: str, user: User, uow: Uow) -> Response:
    check_page(user.principal, "quality")
    data, content_type = queries.inspection_image(uow, inspection_id, user.principal)
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"})


@router.get("/quality/charts/{by}/{key}")
def chart(by: str, key: str, user: User, uow: Uow) -> Response:
    """A p-chart (defects per day with its 3-sigma limits and signals) as PNG."""
    check_page(user.principal, "quality")
    return Response(queries.chart_image(uow, by, key, user.principal), media_type="image/png")


@router.post("/quality/inspections/{inspection_id}/verdict", dependencies=[Csrf])
def override_verdict(
    inspection_id: str,
    request: Request,
    user: User,
    uow: Uow,
    verdict: str = Form(""),
    reason: str = Form("", max_length=REASON),
) -> Response:
    """A person's verdict on the unit, with a reason: kept like any inspection, acted on the same way."""
    row = queries.get_inspection(uow, inspection_id, user.principal)
    check_action(user.principal, "override-verdict", row.site)
    target = f"/quality/inspections/{inspection_id}"
    try:
        chosen = VERDICTS.get(verdict)
        if chosen is None:
            raise Invalid("which verdict?", [Problem("verdict", "pass or fail")])
        view = recording.record_manual(
            uow, row.serial, chosen, note=_reason(reason), station=None, actor=user.username, now=_now()
        )
        uow.commit()
    except (Conflict, Invalid) as refused:
        flash(request, f"Verdict not recorded: {_said(refused)}", "error")
        return RedirectResponse(target, status_code=303)
    flash(request, f"Unit {row.serial}: {chosen.value} recorded ({view['id']}).")
    return RedirectResponse(f"/quality/inspections/{view['id']}", status_code=303)


@router.post("/quality/ncrs/{ncr_id}/dispose", dependencies=[Csrf])
def dispose_ncr(
    ncr_id: str,
    request: Request,
    user: User,
    uow: Uow,
    disposition: str = Form(""),
    reason: str = Form("", max_length=REASON),
    steps: str = Form("", max_length=4000),
) -> Response:
    """Use as is, rework, repair or scrap, with a reason; of two people at once, one decides."""
    ncr = dispositions.get_ncr(uow, ncr_id)
    check_action(user.principal, "dispose-ncr", ncr.site)
    try:
        if disposition not in set(Disposition):
            raise Invalid("which disposition?", [Problem("disposition", ", ".join(Disposition))])
        named = [step.strip() for step in steps.replace(",", " ").split() if step.strip()] or None
        dispositions.dispose(
            uow, ncr_id, Disposition(disposition), _reason(reason), user.username, _now(), named
        )
        uow.commit()
    except (Conflict, Invalid) as refused:
        flash(request, f"NCR {ncr_id} not disposed: {_said(refused)}", "error")
    else:
        flash(request, f"NCR {ncr_id} of unit {ncr.serial}: {disposition.replace('_', ' ')}.")
    return RedirectResponse("/quality#ncrs", status_code=303)


@router.post("/quality/holds/{site}/{machine}/release", dependencies=[Csrf])
def release_hold(
    site: str,
    machine: str,
    request: Request,
    user: User,
    uow: Uow,
    reason: str = Form("", max_length=REASON),
) -> Response:
    """A person puts a held machine back in service for new jobs, with a reason."""
    check_action(user.principal, "release-hold", site)
    try:
        spc_service.release_hold(uow, machine, _reason(reason), user.username, _now(), site)
        uow.commit()
    except (Conflict, Invalid) as refused:
        flash(request, f"Hold of {machine} not released: {_said(refused)}", "error")
    else:
        flash(request, f"Machine {machine} at {site} released for new jobs.")
    return RedirectResponse("/quality#holds", status_code=303)


def _said(refused: Conflict | Invalid) -> str:
    if isinstance(refused, Invalid) and refused.problems:
        return "; ".join(f"{p.path}: {p.message}" for p in refused.problems)
    return refused.message
