"""Browser tests: Debian's Chromium, driven by Playwright, against a real uvicorn server on loopback
over a seeded SQLite database.

Nothing downloads a browser: Playwright launches /usr/bin/chromium (MICROFACTORY_TEST_CHROMIUM to
use another). Without it the tests skip with the reason, except under CI=true, where they must run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from tests.browser.seed import PASSWORD, World, seed
from tests.integration.live_server import live_server

CHROMIUM = os.environ.get("MICROFACTORY_TEST_CHROMIUM", "/usr/bin/chromium")
TABLET = {"width": 1024, "height": 768}


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (make install puts Debian's chromium there)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium for one module: while Playwright's sync driver runs, its event loop is the thread's
    running loop, so it must be stopped before the tests that call `asyncio.run` come."""
    reason = _missing()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def world_server(tmp_path_factory: pytest.TempPathFactory, examples: Path) -> Iterator[tuple[str, World]]:
    """A seeded database served by uvicorn on a loopback port, for the tests of one module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'web.db'}"
    engine = make_engine(url)
    upgrade(engine)
    world = seed(engine, examples)
    settings = Settings(
        database_url=url,
        admin_token=SecretStr("browser-admin"),
        auto_route=False,
        outbox_interval_seconds=0,
        session_secret=SecretStr("browser-test-session-secret"),
        shopify_inbox_autoprocess=False,
        rate_limit_login="1000/minute",  # every test of the module logs in from 127.0.0.1
    )
    app = create_app(settings, engine)
    with live_server(app) as base:
        yield base, world
    engine.dispose()


@pytest.fixture
def base_url(world_server: tuple[str, World]) -> str:
    return world_server[0]


@pytest.fixture
def world(world_server: tuple[str, World]) -> World:
    return world_server[1]


@pytest.fixture
def page(browser: Any, base_url: str) -> Iterator[Any]:
    """A fresh browser context (no cookies) in a tablet-sized window."""
    context = browser.new_context(base_url=base_url, viewport=TABLET)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def log_in(page: Any, username: str, password: str = PASSWORD, *, here: bool = False) -> None:
    """Fill the login form (`here`: the one already shown, after a redirect) and send it."""
    if not here:
        page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
