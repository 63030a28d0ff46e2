"""Bearer-token authentication: the admin token from the environment, or tokens stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from microfactory.api.deps import container_of
from microfactory.db.base import new_id
from microfactory.db.tables.orders import ApiTokenRow
from microfactory.db.unit_of_work import UnitOfWork

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer TOKEN")


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(uow: UnitOfWork, name: str, role: str = "admin") -> str:
    """Create an API token; only its hash is stored, so it is shown once."""
    token = secrets.token_urlsafe(32)
    uow.session.add(ApiTokenRow(id=new_id("tok"), name=name, token_sha256=token_digest(token), role=role))
    return token


async def require_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> str:
    """The caller's identity; 401 with a reason when the bearer token is missing or unknown.

    Async so that the common case (the admin token) costs no thread hop; the stored-token lookup is
    a single indexed read.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token: send Authorization: Bearer TOKEN",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = credentials.credentials
    container = container_of(request)
    admin = container.settings.admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode()):
        return "admin"
    with container.unit_of_work() as uow:
        row = uow.session.scalar(select(ApiTokenRow).where(ApiTokenRow.token_sha256 == token_digest(token)))
    if row is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "unknown bearer token", headers={"WWW-Authenticate": "Bearer"}
        )
    return row.name


Caller = Annotated[str, Depends(require_token)]
