"""The FastAPI application: routers of every capability over one database."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text

from microfactory.api.errors import BodySizeLimit, error_body, install_error_handlers
from microfactory.api.guards import reject_unstorable
from microfactory.api.routers import (
    catalogs,
    erp,
    network,
    orders,
    outbox,
    plans,
    shipments,
    shopify,
    shopify_inbox,
    telemetry,
    tokens,
)
from microfactory.bootstrap import Container, bootstrap
from microfactory.config import Settings
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
    guarded = [Depends(reject_unstorable)]  # not Shopify's routes: signed deliveries are stored as sent
    # Shopify's webhook route comes first: routes are matched in order, and it takes the bursts
    routers = (
        shopify,
        orders,
        catalogs,
        tokens,
        network,
        plans,
        erp,
        shopify_inbox,
        shipments,
        outbox,
        telemetry,
    )
    for router in (module.router for module in routers):
        app.include_router(router, dependencies=guarded if router.prefix.startswith("/api/v1") else None)

    @app.get("/healthz", tags=["health"])
    def healthz() -> Any:
        database = container.engine
        try:
            with database.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any database failure means unhealthy
            return JSONResponse(error_body(f"database unreachable: {type(error).__name__}"), status_code=503)
        return {"status": "ok", "database": database.dialect.name}

    return app


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
