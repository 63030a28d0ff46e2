"""API tokens: the admin issues, lists, rotates and revokes tokens, each with a role (spec "Roles and tokens").

Only the admin role may call these routes (`access.model.ROUTE_ROLES`, checked for every route).
A token's secret is in the answer to its creation only; lists never show it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from microfactory.access import tokens
from microfactory.access.model import Role
from microfactory.api.auth import token_cache_of
from microfactory.api.deps import Uow

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    role: Role = "integration"
    site: str | None = Field(None, min_length=1, max_length=80)


class IssuedOut(BaseModel):
    """A token as issued or rotated: the only answer that ever holds its secret."""

    id: str
    name: str
    role: Role
    site: str | None
    token: str


class TokenOut(BaseModel):
    id: str
    name: str
    role: Role
    site: str | None
    created_at: str
    revoked_at: str | None


@router.post(
    "/tokens", status_code=status.HTTP_201_CREATED, response_model=IssuedOut, responses={403: {}, 409: {}}
)
def create_token(body: TokenRequest, uow: Uow) -> dict[str, Any]:
    """Issue a token: `{"id", "name", "role", "site", "token"}`; the token is shown this once."""
    return tokens.issue_token(uow, body.name, body.role, body.site).as_dict()


@router.get("/tokens", response_model=list[TokenOut], responses={403: {}})
def list_tokens(uow: Uow, include_revoked: bool = False) -> list[dict[str, Any]]:
    """Tokens without their secrets, oldest first."""
    return [token.as_dict() for token in tokens.list_tokens(uow, include_revoked)]


@router.delete("/tokens/{token_id}", response_model=TokenOut, responses={403: {}, 404: {}})
def revoke_token(token_id: str, uow: Uow, request: Request) -> dict[str, Any]:
    """Revoke a token; requests with it get 401 from now on (through other API processes, within
    `MICROFACTORY_TOKEN_CACHE_SECONDS`: see `access.token_cache`)."""
    revoked = tokens.revoke_token(uow, token_id).as_dict()
    token_cache_of(request).forget(token_id)
    return revoked


@router.post("/tokens/{token_id}/rotate", response_model=IssuedOut, responses={403: {}, 404: {}, 409: {}})
def rotate_token(token_id: str, uow: Uow, request: Request) -> dict[str, Any]:
    """A new secret for the token, shown this once; the old secret gets 401 from now on (through
    other API processes, within `MICROFACTORY_TOKEN_CACHE_SECONDS`).

    The token keeps its id, name, role and site. A revoked token cannot be rotated (409).
    """
    rotated = tokens.rotate_token(uow, token_id).as_dict()
    token_cache_of(request).forget(token_id)
    return rotated
