"""The overview: sites, load, promises, routing in words (quality and shipments have their own)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from microfactory.api.deps import Uow
from microfactory.web.access import check_page
from microfactory.web.auth import User
from microfactory.web.queries import overview
from microfactory.web.render import page

router = APIRouter()


@router.get("/")
def overview_page(request: Request, user: User, uow: Uow) -> Response:
    """Every site with its load and promises; a site operator goes to their own site."""
    if user.role == "site" and user.site:
        return RedirectResponse(f"/sites/{user.site}", status_code=303)
    check_page(user.principal, "overview")
    return page(request, "overview.html", user, **overview(uow))
