"""A site's page: the plan as a Gantt chart, machines live (htmx polling), stations, holds, alerts.

A person's start and finish at a manual station call `production.stations.report_by_hand`, the use
case of `microfactory operations start|finish` and of the agent's reports, after the same site
check as the API (`access.model.check_site`: a site user acts on their own site only).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from microfactory.access.model import check_site
from microfactory.api.deps import Uow
from microfactory.errors import Conflict
from microfactory.production import stations
from microfactory.production.model import Event
from microfactory.web.access import check_action, check_page
from microfactory.web.auth import Csrf, User
from microfactory.web.gantt import gantt_svg
from microfactory.web.queries import site_board, site_live
from microfactory.web.render import flash, page

router = APIRouter()
EVENTS = {"start": Event.STARTED, "finish": Event.FINISHED}


@router.get("/sites/{site_id}")
def site_page(site_id: str, request: Request, user: User, uow: Uow) -> Response:
    check_page(user.principal, "site")
    check_site(user.principal, site_id)
    board = site_board(uow, site_id)
    chart = gantt_svg(board["bars"], f"Plan of {site_id}: operations by machine over time")
    return page(
        request,
        "site.html",
        user,
        **board,
        gantt=chart,
        may_report=user.role in ("admin", "planner", "site"),
    )


@router.get("/sites/{site_id}/live")
def site_live_fragment(site_id: str, request: Request, user: User, uow: Uow) -> Response:
    """The live part of the page, polled by htmx: machines, current jobs, readings, open alerts."""
    check_page(user.principal, "site")
    check_site(user.principal, site_id)
    return page(request, "site_live.html", user, live=site_live(uow, site_id), site_id=site_id)


@router.post("/operations/{operation_id}/{action}", dependencies=[Csrf])
def report_operation(operation_id: str, action: str, request: Request, user: User, uow: Uow) -> Response:
    """Start or finish a step at a manual station, as the person logged in."""
    event = EVENTS.get(action)
    operation = stations.get_operation(uow, operation_id)
    check_action(user.principal, "report-operation", operation.site)
    site, label = operation.site, f"{operation.op} ({operation_id})"
    if event is None:
        flash(request, f"unknown action {action!r}: start or finish", "error")
        return RedirectResponse(f"/sites/{site}#stations", status_code=303)
    try:
        stations.report_by_hand(
            uow, operation_id, event, datetime.now(UTC), operator=user.username, actor=user.username
        )
        uow.commit()
    except Conflict as refused:
        flash(request, f"Could not {action} {label}: {refused.message}", "error")
    else:
        flash(request, f"{label} {'started' if event is Event.STARTED else 'finished'}.")
    return RedirectResponse(f"/sites/{site}#stations", status_code=303)
