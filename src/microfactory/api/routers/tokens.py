"""API tokens: the admin issues named tokens for integrations (ERP, site agents, dashboards)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, status
from pydantic import BaseModel, Field

from microfactory.api.auth import Caller, issue_token
from microfactory.api.deps import Uow

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenRequest, uow: Uow, caller: Caller) -> dict[str, Any]:
    """Issue a token; it is shown once and only its hash is stored."""
    if caller != "admin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only the admin token can issue tokens")
    token = issue_token(uow, body.name)
    uow.commit()
    return {"name": body.name, "token": token}
