"""`microfactory schedule site ID --release`, `operations ...` and `units show` end to end (SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from tests.conftest import CommandLine

from .berlin_work import route_keypads

runner = CliRunner()


@pytest.fixture
def cli(sqlite_url: str, examples: Path, command_line: CommandLine) -> list[str]:
    """A keypad routed to Berlin and accepted, in the database the CLI uses: its work order."""
    engine = make_engine(sqlite_url)
    upgrade(engine)
    work_orders = route_keypads(engine, examples, ["teal"])
    engine.dispose()
    command_line.use_database(sqlite_url)
    return work_orders


def _run(*args: str) -> tuple[int, str]:
    from microfactory.cli.main import app

    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_release_then_make_a_keypad_by_hand_and_trace_its_unit(cli: list[str]) -> None:
    (work_order,) = cli
    code, output = _run("schedule", "site", "berlin", "--release", "--time-limit", "1")
    assert code == 0, output
    assert "8 operations released" in output
    code, output = _run("operations", "list", "--site", "berlin", "--status", "released", "--json")
    assert code == 0, output
    ops = json.loads(output)
    assert len(ops) == 8 and {op["work_order_id"] for op in ops} == {work_order}
    waiting = next(op for op in ops if not op["ready"])
    assert _run("operations", "start", waiting["id"])[0] == 4  # its predecessors are not done
    assert _run("operations", "finish", ops[0]["id"])[0] == 4  # not started
    assert _run("operations", "start", "opr_nope")[0] == 3
    assert _run("operations", "list", "--site", "berlin", "--status", "nope")[0] == 2
    while ops:
        for op in [op for op in ops if op["ready"]]:
            code, output = _run("operations", "start", op["id"], "--operator", "Mia")
            assert code == 0 and "running" in output, output
            assert _run("operations", "finish", op["id"])[0] == 0
        ops = json.loads(_run("operations", "list", "--site", "berlin", "--status", "released", "--json")[1])
    code, output = _run("work-orders", "show", work_order, "--json")
    shown = json.loads(output)
    assert shown["status"] == "made" and {op["status"] for op in shown["operations"]} == {"done"}
    (serial,) = shown["units"]
    assert serial in _run("work-orders", "show", work_order)[1]
    code, output = _run("units", "show", serial, "--json")
    assert code == 0, output
    trace = json.loads(output)
    assert trace["serial"] == serial and trace["operators"] == ["Mia"] and trace["site"] == "berlin"
    code, output = _run("units", "show", serial)
    assert code == 0 and serial in output and "Mia" in output
    assert _run("units", "show", "MF-NOPE")[0] == 3
