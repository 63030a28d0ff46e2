"""A site's plan under /api/v1: the JSON of `schedule export` and its Gantt chart.

Solving takes seconds, so these routes are plain `def`s: FastAPI runs them in its threadpool and the
event loop keeps answering other requests meanwhile. Nothing is stored here: `POST .../plan`
(`api.routers.production`) plans, stores and releases.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response, status

from microfactory.api.auth import Caller
from microfactory.api.deps import Uow
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.scheduling.dispatch import Infeasible
from microfactory.scheduling.export import gantt_png_bytes, plan_json
from microfactory.scheduling.service import plan_for_site
from microfactory.scheduling.site_plan import SitePlan, SitePlanSettings

router = APIRouter(prefix="/api/v1", tags=["scheduling"])

TIME_LIMIT = Query(10.0, ge=1, le=60, description="seconds the solver may take (1 to 60)")


def _plan(uow: UnitOfWork, site_id: str, time_limit: float) -> SitePlan:
    """The site's stored, not yet started work planned from now; an empty plan when it has none."""
    try:
        return plan_for_site(uow, site_id, datetime.now(UTC), SitePlanSettings(time_limit=time_limit))
    except (Infeasible, ValueError) as error:  # work the site cannot make: a conflict, not a crash
        raise HTTPException(status.HTTP_409_CONFLICT, f"no plan for {site_id}: {error}") from error


@router.get("/sites/{site_id}/plan")
def site_plan(site_id: str, uow: Uow, caller: Caller, time_limit: float = TIME_LIMIT) -> dict[str, Any]:
    """The site's plan as JSON (the shape `microfactory schedule export` writes); 404 for no such site."""
    return plan_json(_plan(uow, site_id, time_limit))


@router.get(
    "/sites/{site_id}/plan.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the plan as a Gantt chart"}},
)
def site_plan_png(site_id: str, uow: Uow, caller: Caller, time_limit: float = TIME_LIMIT) -> Response:
    """The site's plan as a Gantt chart: one row per machine, bars coloured by material."""
    return Response(gantt_png_bytes(_plan(uow, site_id, time_limit)), media_type="image/png")
