"""The operator's view of the Shopify webhook inbox, under /api/v1 with bearer tokens."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from microfactory.api.auth import Caller
from microfactory.api.deps import Uow
from microfactory.channels.shopify.inbox_status import inbox_status

router = APIRouter(prefix="/api/v1", tags=["shopify"])


@router.get("/shopify/inbox")
def get_inbox(uow: Uow, _: Caller, failed: int = Query(20, ge=0, le=500)) -> dict[str, Any]:
    """Deliveries by status, how many wait to be processed, and the newest failures with reasons."""
    return inbox_status(uow, failed).as_dict()
