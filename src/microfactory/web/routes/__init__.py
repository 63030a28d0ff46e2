"""The web UI's routes: login, orders, sites, and the overview, quality and shipments pages."""

from fastapi import APIRouter

from microfactory.web.routes import login, orders, pages, sites

router = APIRouter(include_in_schema=False)
for module in (login, orders, sites, pages):
    router.include_router(module.router)
