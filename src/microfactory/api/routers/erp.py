"""ERP order import under /api/v1: the same CSV or JSON documents as `microfactory orders import`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from microfactory.api.auth import Caller
from microfactory.api.deps import container_of
from microfactory.catalog.service import active_catalogs
from microfactory.channels import erp
from microfactory.db.engine import bounded_write_turn
from microfactory.db.unit_of_work import UnitOfWork
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
async def import_orders(request: Request, caller: Caller) -> dict[str, Any]:
    """Import orders from CSV (`Content-Type: text/csv`) or JSON; refused whole (422) if unreadable.

    The body is read in full first, with no write turn held, so a slow client stalls nobody; then
    parsing and writing run in one worker-thread call that takes the turn itself: a large file
    never blocks the event loop, and the turn is never held across two thread hops.
    """
    body = await request.body()
    kind = "csv" if "csv" in request.headers.get("content-type", "") else "json"
    text = _text(body)
    container = container_of(request)
    return await run_in_threadpool(_import, container.engine, container.session_factory, text, kind, caller)


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:  # replacing bytes would import altered ids and names
        byte = body[error.start : error.start + 1].hex()
        problem = Problem("", f"the file is not UTF-8 text: byte 0x{byte} at position {error.start}")
        raise erp.OrderFileError("not a text file", [problem]) from error


def _import(
    engine: Engine, factory: sessionmaker[Session], text: str, kind: str, actor: str
) -> dict[str, Any]:
    with UnitOfWork(factory) as uow:
        orders = erp.parse(text, kind, active_catalogs(uow))
        uow.session.rollback()  # end the read before waiting for the write turn
        with bounded_write_turn(engine):
            results = erp.import_orders(uow, orders, actor)
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
