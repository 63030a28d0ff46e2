"""The job queue under /api/v1, read only and for the admin: what waits, what runs, what failed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from microfactory.api.deps import Uow
from microfactory.jobs.views import jobs_view

router = APIRouter(prefix="/api/v1", tags=["jobs"])


@router.get("/jobs", responses={403: {}, 422: {}})
def list_jobs(
    uow: Uow,
    status_: str | None = Query(None, alias="status", description="only jobs in this status"),
    limit: int = Query(100, ge=1, le=1000),
) -> dict[str, Any]:
    """Jobs newest first, their counts by status, and the workers alive (admin only,
    `access.model.ADMIN_ONLY`: the queue shows how the whole network's work is going)."""
    return jobs_view(uow, status_, limit)
