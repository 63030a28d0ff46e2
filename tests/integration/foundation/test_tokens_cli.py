"""`microfactory tokens create|list|revoke`: the secret is printed once, lists never show it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from microfactory.cli.main import app

runner = CliRunner()


def test_create_list_and_revoke(cli_database: Path) -> None:
    created = runner.invoke(app, ["tokens", "create", "lyon-agent", "--role", "site", "--site", "lyon"])
    assert created.exit_code == 0, created.output
    issued = json.loads(created.output)
    assert issued["role"] == "site" and issued["site"] == "lyon" and issued["token"]
    duplicate = runner.invoke(app, ["tokens", "create", "lyon-agent", "--role", "planner"])
    assert duplicate.exit_code == 4
    listed = runner.invoke(app, ["tokens", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert [t["id"] for t in json.loads(listed.output)] == [issued["id"]]
    assert issued["token"] not in listed.output
    revoked = runner.invoke(app, ["tokens", "revoke", issued["id"]])
    assert revoked.exit_code == 0 and issued["id"] in revoked.output
    assert json.loads(runner.invoke(app, ["tokens", "list", "--json"]).output) == []
    assert runner.invoke(app, ["tokens", "revoke", "tok_missing"]).exit_code == 3
