"""Bearer-token authentication and the role check of every /api/v1 route.

The admin token from the environment is compared on the loop (no I/O). A stored token is looked up
in a worker thread, never on the loop, and then kept for a few seconds (`access.token_cache`), so a
client that sends many requests pays that hop once, not per request. What a caller may do is decided
by its role (`access.model`), never by its name.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from microfactory.access.model import Principal, check_route
from microfactory.access.token_cache import TokenCache
from microfactory.access.tokens import principal_for, token_digest
from microfactory.api.deps import container_of
from microfactory.db.unit_of_work import UnitOfWork

bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer TOKEN")
ENVIRONMENT_ADMIN = Principal(id="env-admin", name="admin", role="admin")


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def token_cache_of(request: Request) -> TokenCache:
    """The app's cache of verified stored tokens (made by `create_app`)."""
    cache: TokenCache = request.app.state.token_cache
    return cache


async def require_principal(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    """The caller behind the bearer token; 401 with a reason when it is missing, unknown or revoked."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("missing bearer token: send Authorization: Bearer TOKEN")
    token = credentials.credentials
    container = container_of(request)
    admin = container.settings.admin_token
    if admin is not None and hmac.compare_digest(token.encode(), admin.get_secret_value().encode()):
        return ENVIRONMENT_ADMIN
    cache, digest = token_cache_of(request), token_digest(token)
    found = cache.get(digest)
    if found is not None:
        return found
    generation = cache.generation  # read before the lookup: a revocation meanwhile voids its answer
    found = await run_in_threadpool(_stored, container.session_factory, token)
    if found is None:
        raise _unauthorized("unknown or revoked bearer token")
    cache.put(digest, found, generation)
    return found


def _stored(factory: sessionmaker[Session], token: str) -> Principal | None:
    with UnitOfWork(factory) as uow:
        return principal_for(uow, token)


Who = Annotated[Principal, Depends(require_principal)]
"""The calling principal (id, name, role, site)."""


async def caller_name(principal: Who) -> str:
    return principal.actor


Caller = Annotated[str, Depends(caller_name)]
"""How the audit trail names the caller."""


def check_caller_route(request: Request, principal: Principal) -> None:
    """403 unless the caller's role may call this route at all (finer checks are in the endpoints)."""
    route = request.scope.get("route")
    template = route.path if route is not None else request.url.path
    check_route(principal, request.method, template)
