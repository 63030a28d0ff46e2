"""Token rotation (issue 16.4): a new secret shown once, the old one refused at once, the same
identity kept; two rotations at once hand out one working secret, never two."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from microfactory.access import tokens
from microfactory.cli.main import app as cli
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.errors import Conflict
from tests.integration.operations.conftest import Issue


def test_rotation_refuses_the_old_secret_at_once(client: TestClient, issue: Issue) -> None:
    old_client, issued = issue("erp-bridge", "integration")
    assert old_client.get("/api/v1/orders").status_code == 200
    rotated = client.post(f"/api/v1/tokens/{issued['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    fresh = rotated.json()
    assert {k: fresh[k] for k in ("id", "name", "role", "site")} == {
        k: issued[k] for k in ("id", "name", "role", "site")
    }
    assert fresh["token"] != issued["token"]
    assert old_client.get("/api/v1/orders").status_code == 401
    new_client = TestClient(client.app, headers={"Authorization": f"Bearer {fresh['token']}"})
    assert new_client.get("/api/v1/orders").status_code == 200
    assert fresh["token"] not in client.get("/api/v1/tokens").text
    assert new_client.post(f"/api/v1/tokens/{issued['id']}/rotate").status_code == 403


def test_a_revoked_or_unknown_token_is_not_rotated(client: TestClient, issue: Issue) -> None:
    _, issued = issue("old-bridge", "integration")
    assert client.delete(f"/api/v1/tokens/{issued['id']}").status_code == 200
    refused = client.post(f"/api/v1/tokens/{issued['id']}/rotate")
    assert refused.status_code == 409 and "revoked" in refused.json()["error"]
    assert client.post("/api/v1/tokens/tok_nope/rotate").status_code == 404


def test_two_rotations_read_the_same_secret_and_only_one_wins(engine: Engine) -> None:
    with UnitOfWork.for_engine(engine) as uow:
        issued = tokens.issue_token(uow, "lyon-agent", "site", "lyon")
    with UnitOfWork.for_engine(engine) as first, UnitOfWork.for_engine(engine) as second:
        seen_first = tokens.find_token(first, "lyon-agent")
        seen_second = tokens.find_token(second, issued.principal.id)
        first.session.rollback()  # the reads are done: SQLite would keep a read snapshot open
        second.session.rollback()
        winner = tokens.replace_secret(first, seen_first)
        first.commit()
        with pytest.raises(Conflict, match="rotated or revoked meanwhile"):
            tokens.replace_secret(second, seen_second)
    with UnitOfWork.for_engine(engine) as uow:
        assert tokens.principal_for(uow, winner.secret) is not None
        assert tokens.principal_for(uow, issued.secret) is None


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_rotations_at_once_on_postgresql(engine: Engine) -> None:
    """The second UPDATE waits for the first one's commit, then finds the digest changed."""
    with UnitOfWork.for_engine(engine) as uow:
        tokens.issue_token(uow, "berlin-agent", "site", "berlin")
    outcome: list[object] = []
    with UnitOfWork.for_engine(engine) as first, UnitOfWork.for_engine(engine) as second:
        seen_first = tokens.find_token(first, "berlin-agent")
        seen_second = tokens.find_token(second, "berlin-agent")
        winner = tokens.replace_secret(first, seen_first)  # holds the row lock until it commits

        def rotate_second() -> None:
            try:
                outcome.append(tokens.replace_secret(second, seen_second))
            except Conflict as error:
                outcome.append(error)

        racer = threading.Thread(target=rotate_second)
        racer.start()
        time.sleep(0.3)
        assert racer.is_alive(), "the second rotation should wait for the first one's row lock"
        first.commit()
        racer.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    with UnitOfWork.for_engine(engine) as uow:
        assert tokens.principal_for(uow, winner.secret) is not None


runner = CliRunner()


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MICROFACTORY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    from microfactory.cli import context
    from microfactory.config import get_settings

    get_settings.cache_clear()
    context.container.cache_clear()
    yield
    get_settings.cache_clear()
    context.container.cache_clear()


def test_tokens_rotate_by_name_or_id(cli_database: None) -> None:
    created = json.loads(runner.invoke(cli, ["tokens", "create", "dash", "--role", "inspector"]).output)
    by_name = runner.invoke(cli, ["tokens", "rotate", "dash"])
    assert by_name.exit_code == 0, by_name.output
    first = json.loads(by_name.output)
    assert first["id"] == created["id"] and first["token"] not in (created["token"], "")
    by_id = runner.invoke(cli, ["tokens", "rotate", created["id"]])
    assert by_id.exit_code == 0, by_id.output
    assert json.loads(by_id.output)["token"] != first["token"]
    listed = runner.invoke(cli, ["tokens", "list", "--json"]).output
    assert first["token"] not in listed and created["token"] not in listed
    missing = runner.invoke(cli, ["tokens", "rotate", "nobody"])
    assert missing.exit_code == 3 and "nobody" in missing.output
    assert runner.invoke(cli, ["tokens", "revoke", created["id"]]).exit_code == 0
    revoked = runner.invoke(cli, ["tokens", "rotate", created["id"]])
    assert revoked.exit_code == 4 and "revoked" in revoked.output
