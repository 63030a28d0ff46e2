"""Mount the web UI on the API's app: sessions, static files, pages, HTML errors."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from microfactory.config import Settings
from microfactory.web import errors
from microfactory.web.render import HERE
from microfactory.web.routes import router
from microfactory.web.sessions import WebSessions, session_secret
from microfactory.web.throttle import LoginThrottle


def mount_web(app: FastAPI, settings: Settings) -> None:
    """Pages at /, assets at /static (served by the app: nothing is fetched from elsewhere)."""
    app.state.login_throttle = LoginThrottle()
    app.add_middleware(
        WebSessions,
        secret=session_secret(settings),
        secure=settings.session_secure,
        max_age=settings.session_max_age_seconds,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(router)
    errors.install(app)
