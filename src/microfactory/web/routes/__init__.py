"""The web UI's routes: login, orders, sites, the overview, quality and shipments."""

from fastapi import APIRouter

from microfactory.web.routes import login, orders, pages, quality, shipments, sites

router = APIRouter(include_in_schema=False)
for module in (login, orders, sites, pages, quality, shipments):
    router.include_router(module.router)
