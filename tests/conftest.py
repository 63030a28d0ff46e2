"""Fixtures every test may use: the project's examples, databases (SQLite and the loopback PostgreSQL),
an API client, and the command line run in the test's process.

PostgreSQL tests skip with a visible reason when no server answers, except under CI=true, where
they must run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import Engine, create_engine, text
from typer.testing import CliRunner

from microfactory.api.app import create_app
from microfactory.catalog.load import load_catalog
from microfactory.catalog.model import Catalog
from microfactory.config import Settings
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
POSTGRES_ADMIN_URL = os.environ.get(
    "MICROFACTORY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
ADMIN_TOKEN = "test-admin-token"


@pytest.fixture(scope="session")
def examples() -> Path:
    """The project's own example files (examples/): a fresh clone has them, nothing beside it needed."""
    return EXAMPLES


@pytest.fixture(scope="session")
def keypad(examples: Path) -> Catalog:
    return load_catalog(examples / "catalog-keypad.yaml")


def _postgres_available() -> str | None:
    """None when the server answers, otherwise why not."""
    try:
        probe = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with probe.connect() as connection:
            connection.execute(text("SELECT 1"))
        probe.dispose()
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    reason = _postgres_available()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but PostgreSQL at {POSTGRES_ADMIN_URL} does not answer: {reason}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({reason})")
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A throwaway database on the loopback server, dropped afterwards."""
    name = f"mf_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_server.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'microfactory.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each storage test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    created = make_engine(database_url)
    upgrade(created)
    yield created
    created.dispose()


@pytest.fixture
def uow(engine: Engine) -> Iterator[UnitOfWork]:
    with UnitOfWork.for_engine(engine) as unit:
        yield unit


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        auto_route=False,
        # The API's MQTT listener keeps a persistent session on the shared broker: it would take in
        # readings other tests published and write them beside the test's own writes. The MQTT tests
        # start their own subscriber.
        telemetry_listen=False,
        database_url=database_url,
        admin_token=SecretStr(ADMIN_TOKEN),
        shopify_webhook_secret=SecretStr("test-webhook-secret"),
    )


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    with TestClient(app) as test_client:
        test_client.headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        yield test_client


def reset_cli() -> None:
    """The CLI keeps its settings and container for the process: make it read them again."""
    from microfactory.cli import context
    from microfactory.config import get_settings

    get_settings.cache_clear()
    context.container.cache_clear()


class CommandLine:
    """`microfactory ...` run in the test's process, on the environment the test gives it."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self.runner = CliRunner()

    def env(self, **values: str | None) -> None:
        """Set environment variables (None unsets one); the next command reads them."""
        for name, value in values.items():
            if value is None:
                self._monkeypatch.delenv(name, raising=False)
            else:
                self._monkeypatch.setenv(name, value)
        reset_cli()

    def use_database(self, url: str) -> None:
        self.env(MICROFACTORY_DATABASE_URL=url)

    def __call__(self, *args: str) -> Result:
        from microfactory.cli.main import app

        return self.runner.invoke(app, list(args))


@pytest.fixture
def command_line(monkeypatch: pytest.MonkeyPatch) -> Iterator[CommandLine]:
    """The command line; `command_line.use_database(url)` points it at the test's database."""
    reset_cli()
    yield CommandLine(monkeypatch)
    reset_cli()


@pytest.fixture
def cli_database(command_line: CommandLine, tmp_path: Path) -> Path:
    """The command line on a fresh SQLite database of its own, `tmp_path / "cli.db"`; `tmp_path`."""
    command_line.use_database(f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path
