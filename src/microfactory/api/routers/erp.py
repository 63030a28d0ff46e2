"""ERP order import under /api/v1: the same CSV or JSON documents as `microfactory orders import`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from microfactory.api.auth import Caller
from microfactory.api.deps import Uow
from microfactory.catalog.service import active_catalogs
from microfactory.channels import erp

router = APIRouter(prefix="/api/v1", tags=["orders"])


@router.post(
    "/orders/import",
    status_code=status.HTTP_200_OK,
    openapi_extra={
        "requestBody": {
            "content": {"text/csv": {"schema": {"type": "string"}}, "application/json": {"schema": {}}},
            "required": True,
        }
    },
)
async def import_orders(request: Request, uow: Uow, caller: Caller) -> dict[str, Any]:
    """Import orders from CSV (`Content-Type: text/csv`) or JSON; refused whole (422) if unreadable."""
    body = await request.body()
    kind = "csv" if "csv" in request.headers.get("content-type", "") else "json"
    text = body.decode("utf-8", errors="replace")
    orders = erp.parse(text, kind, active_catalogs(uow))
    results = erp.import_orders(uow, orders)
    summary = [
        {"id": r.order.id, "external_id": r.order.external_id, "status": r.order.status, "created": r.created}
        for r in results
    ]
    uow.commit()
    return {"imported": sum(1 for r in results if r.created), "orders": summary}
