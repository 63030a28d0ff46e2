"""A revoked stored token is refused at once by the API process that revoked it, and by every other
process within `token_cache_seconds` (the cache of verified tokens, `access.token_cache`)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from microfactory.access.token_cache import TokenCache
from microfactory.access.tokens import token_digest
from microfactory.api.app import create_app
from microfactory.config import Settings
from microfactory.db.tables.orders import ApiTokenRow
from microfactory.db.unit_of_work import UnitOfWork
from tests.conftest import ADMIN_TOKEN

TTL = 1.0
SLACK = 0.5  # a request's own time, and how late the test notices the revocation
SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.fixture
def admin(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings.with_changes(token_cache_seconds=TTL), engine)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as client:
        yield client


def _issue(admin: TestClient, name: str) -> tuple[str, TestClient]:
    issued = admin.post("/api/v1/tokens", json={"name": name, "role": "planner"}).json()
    return issued["id"], TestClient(admin.app, headers={"Authorization": f"Bearer {issued['token']}"})


def _secret(client: TestClient) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")


def test_revoked_through_this_process_the_token_is_refused_at_once(admin: TestClient) -> None:
    token_id, planner = _issue(admin, "planner-1")
    secret = _secret(planner)
    assert planner.get("/api/v1/orders").status_code == 200
    cache: TokenCache = admin.app.state.token_cache  # type: ignore[attr-defined]
    assert cache.get(token_digest(secret)) is not None  # verified, now cached
    assert admin.delete(f"/api/v1/tokens/{token_id}").status_code == 200
    refused = planner.get("/api/v1/orders")
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]


def _revoked(engine: Engine, token_id: str) -> bool:
    with UnitOfWork.for_engine(engine) as uow:
        row = uow.session.get(ApiTokenRow, token_id)
        return row is not None and row.revoked_at is not None


def test_revoked_by_another_process_the_token_is_refused_within_the_ttl(
    admin: TestClient, engine: Engine, database_url: str
) -> None:
    token_id, planner = _issue(admin, "planner-2")
    environment = {**os.environ, "PYTHONPATH": str(SRC), "MICROFACTORY_DATABASE_URL": database_url}
    revoke = "from microfactory.cli.main import app; app()"
    command = [sys.executable, "-c", revoke, "tokens", "revoke", token_id]
    seen_revoked: float | None = None
    with subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, text=True) as cli:
        deadline = time.monotonic() + 120
        while (status := planner.get("/api/v1/orders").status_code) == 200:  # keeps the cache warm
            if seen_revoked is None and _revoked(engine, token_id):
                seen_revoked = time.monotonic()
            elapsed = time.monotonic() - (seen_revoked or time.monotonic())
            assert elapsed < TTL + SLACK, "a revoked token was still accepted after the TTL"
            assert time.monotonic() < deadline, "the other process never revoked the token"
        assert status == 401
        assert cli.wait(60) == 0 and cli.stdout is not None and token_id in cli.stdout.read()
