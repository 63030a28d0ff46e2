"""`GET /readyz` and `GET /metrics`: what a load balancer and Prometheus ask (`GET /healthz` is in app.py).

Both run on the health engine's own small pool and thread limiter, never queued behind the writers
they watch. /readyz is public and says only what is ready. /metrics needs a bearer token unless
`MICROFACTORY_METRICS_PUBLIC=true`: the scrape-only `MICROFACTORY_METRICS_TOKEN`, or an API
token of the admin, planner or inspector role (order counts are business figures; decision 0016).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from microfactory.access.model import METRICS_ROLES
from microfactory.api.auth import bearer, require_principal
from microfactory.api.deps import container_of
from microfactory.errors import Forbidden
from microfactory.operations.readiness import Check, Checker, readiness

router = APIRouter(tags=["health"])


class CheckOut(BaseModel):
    name: str
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: str  # ready | not ready
    checks: list[CheckOut]


def health_limiter(app: FastAPI) -> anyio.CapacityLimiter:
    """Two threads for health, readiness and metrics, apart from the requests' pool."""
    limiter: anyio.CapacityLimiter | None = getattr(app.state, "health_limiter", None)
    if limiter is None:  # made on the loop, as anyio wants
        limiter = app.state.health_limiter = anyio.CapacityLimiter(2)
    return limiter


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request) -> Any:
    """200 when every check passes (the database answers, its schema is at the code's head), else 503."""
    checkers: list[Checker] = request.app.state.readiness_checks
    ready, checks = await anyio.to_thread.run_sync(readiness, checkers, limiter=health_limiter(request.app))
    body = {"status": "ready" if ready else "not ready", "checks": [_out(check) for check in checks]}
    return body if ready else JSONResponse(body, status_code=503)


def _out(check: Check) -> dict[str, object]:
    return check.as_dict()


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}}, 401: {}, 403: {}},
)
async def metrics(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Response:
    """The Prometheus text format: requests by route and status, latency, database counts by state."""
    await _may_read_metrics(request, credentials)
    registry: CollectorRegistry = request.app.state.metrics_registry
    body = await anyio.to_thread.run_sync(generate_latest, registry, limiter=health_limiter(request.app))
    return Response(body, media_type=CONTENT_TYPE_LATEST)


async def _may_read_metrics(request: Request, credentials: HTTPAuthorizationCredentials | None) -> None:
    settings = container_of(request).settings.operations
    if settings.metrics_public:
        return
    scrape = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    offered = credentials.credentials if credentials is not None else ""
    if scrape and offered and hmac.compare_digest(offered.encode(), scrape.encode()):
        return
    principal = await require_principal(request, credentials)
    if principal.role not in METRICS_ROLES:
        raise Forbidden(f"a {principal.role} token may not read the metrics")
