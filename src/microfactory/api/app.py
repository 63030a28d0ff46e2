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
    plans,
    shipments,
    shopify,
    shopify_inbox,
    tokens,
)
from microfactory.bootstrap import bootstrap
from microfactory.config import Settings, get_settings
from microfactory.db.engine import make_engine, make_session_factory
from microfactory.db.migrate import upgrade
from microfactory.network.routing_worker import RoutingWorker
from microfactory.orders.intake_queue import IntakeQueue
from microfactory.orders.views import order_view


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, migrate: bool = True
) -> FastAPI:
    """Build the app; the schema is brought up to date first unless `migrate` is False."""
    bootstrap()
    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    app = FastAPI(
        lifespan=_lifespan,
        title="microfactory",
        version="0.1.0",
        description="Orders to local microfactories: bridge, route, schedule, make, check, ship.",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.intake_queue = IntakeQueue(app.state.session_factory, lambda result: order_view(result.order))
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    guarded = [Depends(reject_unstorable)]  # not Shopify's routes: signed deliveries are stored as sent
    # Shopify's webhook route comes first: routes are matched in order, and it takes the bursts
    routers = (shopify, orders, catalogs, tokens, network, plans, erp, shopify_inbox, shipments)
    for router in (module.router for module in routers):
        app.include_router(router, dependencies=guarded if router.prefix.startswith("/api/v1") else None)

    @app.get("/healthz", tags=["health"])
    def healthz() -> Any:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:  # any database failure means unhealthy
            return JSONResponse(error_body(f"database unreachable: {type(error).__name__}"), status_code=503)
        return {"status": "ok", "database": engine.dialect.name}

    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Background workers live as long as the server: the router, and the Shopify inbox if started."""
    settings: Settings = app.state.settings
    gc.freeze()  # what start-up built lives as long as the process: keep it out of every collection
    router = None
    if settings.auto_route:
        router = RoutingWorker(app.state.session_factory, settings.route_interval_seconds)
        router.start()
    try:
        yield
    finally:
        if router is not None:
            router.stop()
        inbox = getattr(app.state, "shopify_inbox_worker", None)
        if inbox is not None:
            inbox.stop()
        writer = getattr(app.state, "shopify_inbox_writer", None)
        if writer is not None:
            writer.close()
