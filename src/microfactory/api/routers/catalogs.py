"""Catalog versions under /api/v1/catalogs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Response, status

from microfactory.api.auth import Caller
from microfactory.api.deps import Uow
from microfactory.catalog import service

router = APIRouter(prefix="/api/v1", tags=["catalog"])


@router.post(
    "/catalogs",
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "this version was loaded before"}},
)
def load_catalog(
    uow: Uow, caller: Caller, response: Response, document: dict[str, Any] = Body(...)
) -> dict[str, Any]:
    """Load a catalog version (the YAML document as JSON); 422 with every problem if it is not valid."""
    result = service.load_catalog(uow, document)
    uow.commit()
    if not result.created:
        response.status_code = status.HTTP_200_OK
    catalog = result.catalog
    return {"catalog": catalog.name, "version": catalog.version, "products": list(catalog.products)}


@router.get("/catalogs")
def list_catalogs(uow: Uow, caller: Caller) -> list[dict[str, Any]]:
    return [
        {"catalog": c.name, "version": c.version, "products": list(c.products)}
        for c in service.active_catalogs(uow).catalogs
    ]
