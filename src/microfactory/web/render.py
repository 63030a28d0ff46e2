"""Templates: one Jinja2 environment (autoescaped), and the context every page gets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from microfactory.web.access import PAGE_ROLES
from microfactory.web.auth import CSRF_FIELD, csrf_token
from microfactory.web.users import WebUser

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
NAVIGATION = (
    ("overview", "/", "Overview"),
    ("orders", "/orders", "Orders"),
    ("needs-attention", "/needs-attention", "Needs attention"),
    ("quality", "/quality", "Quality"),
    ("shipments", "/shipments", "Shipments"),
)


def _when(moment: datetime | str | None) -> str:
    """A time as people read it on the page: 2026-03-02 08:15 UTC."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


templates.env.filters["when"] = _when


def navigation(user: WebUser | None) -> list[tuple[str, str]]:
    if user is None:
        return []
    links = [(href, label) for page, href, label in NAVIGATION if user.role in PAGE_ROLES[page]]
    if user.site:
        links.insert(0, (f"/sites/{user.site}", f"Site {user.site}"))
    return links


def page(
    request: Request, name: str, user: WebUser | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """Render a page with the user, the navigation and the session's CSRF token."""
    context |= {
        "flash": request.session.pop("flash", None),
        "user": user,
        "nav": navigation(user),
        "csrf_field": CSRF_FIELD,
        "csrf": csrf_token(request),
        "path": request.url.path,
    }
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def flash(request: Request, text: str, kind: str = "ok") -> None:
    """A one-time message shown on the next page (what an action did, or why it could not)."""
    request.session["flash"] = {"kind": kind, "text": text}
