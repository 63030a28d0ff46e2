"""The outbox under /api/v1, read only and for the admin: what waits, what failed and why."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from microfactory.api.deps import Uow
from microfactory.outbox import store

router = APIRouter(prefix="/api/v1", tags=["outbox"])


@router.get("/outbox", responses={403: {}, 422: {}})
def list_outbox(
    uow: Uow,
    status_: str | None = Query(None, alias="status", description="only messages in this status"),
    kind: str | None = Query(None, max_length=80, description="only messages of this kind"),
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Messages newest first; payloads may hold customer data, so only the admin role reads them
    (`access.model.ROUTE_ROLES`)."""
    return [store.message_view(row) for row in store.list_messages(uow, status_, kind, limit)]
