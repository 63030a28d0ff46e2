"""`microfactory users add|list|disable`: the password from the environment or a prompt, never echoed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from microfactory.cli.main import app

runner = CliRunner()


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MICROFACTORY_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("MICROFACTORY_NEW_PASSWORD", raising=False)
    from microfactory.cli import context
    from microfactory.config import get_settings

    get_settings.cache_clear()
    context.container.cache_clear()
    yield
    get_settings.cache_clear()
    context.container.cache_clear()


def test_add_list_and_disable(cli_database: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROFACTORY_NEW_PASSWORD", "from the environment")
    added = runner.invoke(app, ["users", "add", "bea", "--role", "site", "--site", "berlin"])
    assert added.exit_code == 0, added.output
    assert "from the environment" not in added.output
    monkeypatch.delenv("MICROFACTORY_NEW_PASSWORD")
    prompted = runner.invoke(
        app, ["users", "add", "pat", "--role", "planner"], input="typed twice!\ntyped twice!\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert "typed twice!" not in prompted.output  # no echo
    listed = json.loads(runner.invoke(app, ["users", "list", "--json"]).output)
    assert [(u["username"], u["role"], u["site"]) for u in listed] == [
        ("bea", "site", "berlin"),
        ("pat", "planner", None),
    ]
    assert "hash" not in json.dumps(listed)
    assert runner.invoke(app, ["users", "disable", "pat"]).exit_code == 0
    assert [u["username"] for u in json.loads(runner.invoke(app, ["users", "list", "--json"]).output)] == [
        "bea"
    ]
    assert runner.invoke(app, ["users", "disable", "nobody"]).exit_code == 3


def test_bad_input_is_named(cli_database: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROFACTORY_NEW_PASSWORD", "long enough password")
    missing_site = runner.invoke(app, ["users", "add", "bea", "--role", "site"])
    assert missing_site.exit_code == 2 and "site" in missing_site.output
    assert runner.invoke(app, ["users", "add", "ann", "--role", "admin"]).exit_code == 0
    assert runner.invoke(app, ["users", "add", "ANN", "--role", "planner"]).exit_code == 4
