"""`microfactory network ...` as an operator types it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from microfactory.cli.main import app

from .conftest import EXAMPLES

runner = CliRunner()
NETWORK = str(EXAMPLES / "network.yaml")


@pytest.fixture
def configured(cli_database: Path) -> Path:
    return cli_database


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    assert runner.invoke(app, ["network", "validate", NETWORK]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(NETWORK).read_text().replace("Europe/Rome", "Europe/Atlantis"), encoding="utf-8")
    result = runner.invoke(app, ["network", "validate", str(bad)])
    assert result.exit_code == 2
    assert "sites.milano.timezone" in result.output


def test_load_route_and_explain(configured: Path) -> None:
    assert runner.invoke(app, ["catalog", "load", str(EXAMPLES / "catalog-keypad.yaml")]).exit_code == 0
    loaded = runner.invoke(app, ["network", "load", NETWORK])
    assert loaded.exit_code == 0, loaded.output
    assert "keystone-eu loaded" in loaded.output
    sites = runner.invoke(app, ["network", "sites"])
    assert sites.exit_code == 0 and "milano" in sites.output
    assert runner.invoke(app, ["network", "route"]).exit_code != 0  # neither ids nor --all
    routed = runner.invoke(app, ["network", "route", "--all"])
    assert routed.exit_code == 0, routed.output
    assert "0 routing decisions" in routed.output
    report = runner.invoke(app, ["network", "load-report", "berlin"])
    assert report.exit_code == 0 and "fdm_print" in report.output
    assert runner.invoke(app, ["network", "explain", "wo_nothing"]).exit_code == 3  # not found
    weights = runner.invoke(app, ["network", "weights", "--cost", "2"])
    assert "cost 2" in weights.output
    down = runner.invoke(app, ["network", "event", "machine_down", "berlin", "--machine", "ber-laser-1"])
    assert down.exit_code == 0, down.output
    assert "0 work orders re-routed" in down.output


def test_loading_a_changed_network_says_what_changed(configured: Path) -> None:
    assert runner.invoke(app, ["network", "load", NETWORK]).exit_code == 0
    changed = configured / "changed.yaml"
    text = Path(NETWORK).read_text(encoding="utf-8")
    changed.write_text(
        text.replace("labour_rate_per_hour: 34.0", "labour_rate_per_hour: 35.0"), encoding="utf-8"
    )
    loaded = runner.invoke(app, ["network", "load", str(changed)])
    assert loaded.exit_code == 0, loaded.output
    assert "keystone-eu loaded as version 2" in loaded.output
