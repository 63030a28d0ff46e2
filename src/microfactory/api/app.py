"""The FastAPI application: routers of every capability over one database."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from microfactory.access.token_cache import TokenCache
from microfactory.api.errors import BodySizeLimit, error_body, install_error_handlers
from microfactory.api.guards import guard
from microfactory.api.routers import (
    catalogs,
    erp,
    network,
    orders,
    outbox,
    plans,
    production,
    shipments,
    shopify,
    shopify_inbox,
    telemetry,
    tokens,
)
from microfactory.bootstrap import Container, bootstrap
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.orders.intake_queue import IntakeQueue
from microfactory.orders.views import order_view


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
    app.add_middleware(BodySizeLimit, max_bytes=container.settings.max_body_bytes)
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
        erp,
        shopify_inbox,
        shipments,
        outbox,
        telemetry,
    )
    for router in (module.router for module in routers):
        app.include_router(router, dependencies=guarded if router.prefix.startswith("/api/v1") else None)

    app.state.health_engine = health_engine(container.engine)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> Any:
        """200 when the database answers; never queued behind the requests it is meant to watch.

        It runs on a thread limiter and a connection pool of its own: under a write storm the
        shared pool of threads and connections is taken by writers, and a health check waiting
        behind them would say nothing about the service except that it is loaded.
        """
        limiter = _health_limiter(app)
        return await anyio.to_thread.run_sync(_check_database, app.state.health_engine, limiter=limiter)

    return app


def health_engine(engine: Engine) -> Engine:
    """A second, tiny engine on the same database, for health checks only."""
    if engine.url.database in (None, "", ":memory:"):
        return engine  # an in-memory database exists only on its own engine
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, pool_size=1, max_overflow=1, pool_timeout=2)


def _health_limiter(app: FastAPI) -> anyio.CapacityLimiter:
    limiter: anyio.CapacityLimiter | None = getattr(app.state, "health_limiter", None)
    if limiter is None:  # made on the loop, as anyio wants
        limiter = app.state.health_limiter = anyio.CapacityLimiter(2)
    return limiter


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
