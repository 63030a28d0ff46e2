"""The FastAPI application: routers of every capability over one database."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, text

from microfactory.access.token_cache import TokenCache
from microfactory.api.errors import BodySizeLimit, error_body, install_error_handlers
from microfactory.api.guards import guard
from microfactory.api.rate_limits import RateLimiter, WebhookLimits
from microfactory.api.request_metrics import MeasureRequests, RequestMetrics
from microfactory.api.routers import (
    carrier_webhooks,
    catalogs,
    erp,
    jobs,
    logistics,
    network,
    operations,
    orders,
    outbox,
    plans,
    production,
    quality,
    shipments,
    shopify,
    shopify_inbox,
    telemetry,
    tokens,
)
from microfactory.api.routers.quality import INSPECTION_UPLOAD, UPLOAD_OVERHEAD
from microfactory.api.routes import document_roles
from microfactory.api.security_headers import SecurityHeaders
from microfactory.bootstrap import Container, bootstrap
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.operations.metrics import DatabaseCollector
from microfactory.operations.readiness import database_checks
from microfactory.orders.intake_queue import IntakeQueue
from microfactory.orders.views import order_view
from microfactory.web.mount import mount_web


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    migrate: bool = True,
    *,
    container: Container | None = None,
) -> FastAPI:
    """Build the app over a container (`bootstrap`); the schema is brought up to date unless told not.

    Everything the routes use is made here, before the first request: `app.state.container` and
    the intake queue. The lifespan only starts and stops the container's workers.
    """
    container = container or bootstrap(settings, engine=engine)
    if migrate:
        upgrade(container.engine)
    app = FastAPI(
        lifespan=_lifespan,
        title="microfactory",
        version="0.1.0",
        description="Orders to local microfactories: bridge, route, schedule, make, check, ship.",
    )
    app.state.container = container
    app.state.intake_queue = IntakeQueue(container.session_factory, lambda result: order_view(result.order))
    install_error_handlers(app)
    app.state.health_engine = health_engine(container.engine)
    _operations(app, container)
    app.state.token_cache = TokenCache(container.settings.token_cache_seconds)
    guarded = [Depends(guard)]  # not Shopify's routes: signed deliveries are stored as sent
    # Shopify's webhook route comes first: routes are matched in order, and it takes the bursts
    routers = (
        shopify,
        orders,
        catalogs,
        tokens,
        network,
        plans,
        production,
        quality,
        erp,
        shopify_inbox,
        shipments,
        logistics,
        carrier_webhooks,
        outbox,
        jobs,
        telemetry,
        operations,
    )
    for router in (module.router for module in routers):
        app.include_router(router, dependencies=guarded if router.prefix.startswith("/api/v1") else None)

    mount_web(app, container.settings)  # the operator pages: after the API, matched last
    document_roles(app)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> Any:
        """200 when the database answers; never queued behind the requests it is meant to watch.

        It runs on a thread limiter and a connection pool of its own: under a write storm the
        shared pool of threads and connections is taken by writers, and a health check waiting
        behind them would say nothing about the service except that it is loaded.
        """
        limiter = operations.health_limiter(app)
        return await anyio.to_thread.run_sync(_check_database, app.state.health_engine, limiter=limiter)

    return app


def health_engine(engine: Engine) -> Engine:
    """A second, tiny engine on the same database, for health checks only."""
    if engine.url.database in (None, "", ":memory:"):
        return engine  # an in-memory database exists only on its own engine
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, pool_size=1, max_overflow=1, pool_timeout=2)


def _operations(app: FastAPI, container: Container) -> None:
    """Middleware, outermost last: security headers on every answer (a 413 or 429 too), request
    metrics, the webhook rate limits, the body size limit; and what /readyz and /metrics read."""
    registry = app.state.metrics_registry = CollectorRegistry()
    registry.register(DatabaseCollector(app.state.health_engine))
    limiter = app.state.rate_limiter = RateLimiter.from_settings(container.settings.operations)
    app.state.readiness_checks = [lambda: database_checks(app.state.health_engine)]
    images = (INSPECTION_UPLOAD, container.settings.quality.image_max_bytes + UPLOAD_OVERHEAD)
    app.add_middleware(BodySizeLimit, max_bytes=container.settings.max_body_bytes, larger=[images])
    app.add_middleware(WebhookLimits, limiter=limiter)
    app.add_middleware(MeasureRequests, metrics=RequestMetrics(registry))
    app.add_middleware(SecurityHeaders, hsts_seconds=container.settings.operations.hsts_seconds)


def _check_database(engine: Engine) -> Any:
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # any database failure means unhealthy
        return JSONResponse(error_body(f"database unreachable: {type(error).__name__}"), status_code=503)
    return {"status": "ok", "database": engine.dialect.name}


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The container's background workers live as long as the server: the router, the Shopify inbox."""
    workers = app.state.container.workers
    gc.freeze()  # what start-up built lives as long as the process: keep it out of every collection
    workers.start()
    try:
        yield
    finally:
        workers.stop()
        if app.state.health_engine is not app.state.container.engine:
            app.state.health_engine.dispose()
