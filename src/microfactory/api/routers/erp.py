"""ERP order import under /api/v1: the same CSV or JSON documents as `microfactory orders import`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status

from microfactory.api.auth import Caller
from microfactory.api.deps import Uow
from microfactory.catalog.service import active_catalogs
from microfactory.channels import erp
from microfactory.problems import Problem

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
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:  # replacing bytes would import altered ids and names
        byte = body[error.start : error.start + 1].hex()
        problem = Problem("", f"the file is not UTF-8 text: byte 0x{byte} at position {error.start}")
        raise erp.OrderFileError("not a text file", [problem]) from error
    orders = erp.parse(text, kind, active_catalogs(uow))
    results = erp.import_orders(uow, orders)
    summary = [
        {
            "id": r.order.id,
            "external_id": r.order.external_id,
            "status": r.order.status,
            "created": r.created,
            **({"refused": r.refused} if r.refused else {}),
        }
        for r in results
    ]
    uow.commit()
    return {"imported": sum(1 for r in results if r.created), "orders": summary}
