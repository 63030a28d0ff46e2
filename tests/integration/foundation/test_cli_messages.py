"""Mistakes a new user makes at the command line get a message and exit 2, never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from microfactory.cli.main import app

runner = CliRunner()


@pytest.fixture
def configured(cli_database: Path, examples: Path) -> Path:
    """A fresh database with the example catalog and network loaded."""
    assert runner.invoke(app, ["catalog", "load", str(examples / "catalog-keypad.yaml")]).exit_code == 0
    assert runner.invoke(app, ["network", "load", str(examples / "network.yaml")]).exit_code == 0
    return cli_database


def _latin1(tmp_path: Path, name: str, source: Path) -> Path:
    path = tmp_path / name
    path.write_bytes(
        source.read_text(encoding="utf-8").replace("name:", "# Café\nname:", 1).encode("latin-1")
    )
    return path


def _refused(args: list[str], *needles: str, code: int = 2) -> str:
    """The command is refused with a message and its kind's exit code (2 invalid, 3 not found)."""
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    for needle in needles:
        assert needle in result.output, result.output
    return result.output


@pytest.mark.parametrize("command", ["catalog", "network"])
def test_validate_a_file_that_is_not_utf8(tmp_path: Path, examples: Path, command: str) -> None:
    source = examples / ("catalog-keypad.yaml" if command == "catalog" else "network.yaml")
    path = _latin1(tmp_path, "latin1.yaml", source)
    _refused([command, "validate", str(path)], "not UTF-8", "0xe9", "line ")


def test_import_an_order_file_that_is_not_utf8(configured: Path) -> None:
    path = configured / "orders.csv"
    path.write_bytes("external_id,sku,qty,name\nE-1,KP-8,1,Zoë\n".encode("latin-1"))
    _refused(["orders", "import", str(path)], "not UTF-8", "line 2")


def test_an_impossible_date_is_named(configured: Path) -> None:
    _refused(["network", "event", "site_closed", "lyon", "--date", "2026-13-45"], "2026-13-45", "YYYY-MM-DD")


def test_export_to_a_folder_that_cannot_be_written_stops_before_solving(configured: Path) -> None:
    blocker = configured / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    started = time.monotonic()
    output = _refused(
        [
            "schedule",
            "export",
            "berlin",
            "--out",
            str(blocker / "plans"),
            "--sample",
            "3",
            "--time-limit",
            "30",
        ],
        "cannot write",
    )
    assert "plans" in output
    assert time.monotonic() - started < 20  # refused before the solver ran its 30 seconds


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e400"])
@pytest.mark.parametrize("command", ["weights", "route"])
def test_a_weight_that_is_not_a_finite_number_of_at_least_0_is_refused(
    configured: Path, command: str, value: str
) -> None:
    extra = ["--all"] if command == "route" else []
    _refused(["network", command, *extra, f"--distance={value}"], "distance")
    shown = runner.invoke(app, ["network", "weights"])
    assert shown.output.strip() == "distance 1, load 1, cost 1, promise 1"


def test_explain_an_unknown_work_order_and_machine_down_without_a_machine(configured: Path) -> None:
    _refused(["network", "explain", "wo_nope"], "no such work order", code=3)
    output = _refused(["network", "event", "machine_down", "berlin"], "needs a machine")
    assert "None" not in output
