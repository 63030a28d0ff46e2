"""`microfactory quality verdict|inspections|ncr ...|holds ...|spc` on a made keypad (SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.db.unit_of_work import UnitOfWork
from microfactory.quality.recording import serials_of_work_order
from tests.integration.production.berlin_work import NOW, make_work_order, release
from tests.integration.quality.scripted import ordered_and_accepted

runner = CliRunner()


@pytest.fixture
def serial(sqlite_url: str, examples: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from microfactory.cli import context
    from microfactory.config import get_settings

    engine = make_engine(sqlite_url)
    upgrade(engine)
    _, work_order = ordered_and_accepted(engine, examples)
    release(engine, NOW)
    make_work_order(engine, work_order, NOW)
    with UnitOfWork.for_engine(engine) as uow:
        made = serials_of_work_order(uow, work_order)[0]
    engine.dispose()
    monkeypatch.setenv("MICROFACTORY_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    context.container.cache_clear()
    try:
        yield made
    finally:
        get_settings.cache_clear()
        context.container.cache_clear()


def _run(*args: str) -> tuple[int, str]:
    from microfactory.cli.main import app

    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_a_persons_fail_then_a_disposition_from_the_cli(serial: str, tmp_path: Path) -> None:
    code, out = _run("quality", "verdict", serial, "fail", "--note", "chipped corner", "--json")
    assert code == 0, out
    ncr_id = json.loads(out)["ncr_id"]
    code, out = _run("quality", "ncr", "list", "--status", "open", "--json")
    assert [ncr["id"] for ncr in json.loads(out)] == [ncr_id]
    code, out = _run(
        "quality", "ncr", "dispose", ncr_id, "repair", "--reason", "glue", "--step", "KP:assemble"
    )
    assert code == 0 and "work order" in out and "rework" in out, out
    code, out = _run("quality", "ncr", "show", ncr_id, "--json")
    assert json.loads(out)["steps"] == ["KP:assemble"]
    code, out = _run("quality", "ncr", "dispose", ncr_id, "scrap", "--reason", "no")
    assert code == 4 and "already disposed" in out
    code, out = _run("quality", "inspections", serial, "--json")
    assert [i["verdict"] for i in json.loads(out)] == ["fail"]
    code, out = _run("quality", "holds", "release", "ber-fdm-1", "--reason", "x")
    assert code == 4 and "not on hold" in out
    chart = tmp_path / "p.png"
    code, out = _run("quality", "spc", "--product", "KP", "--chart", str(chart))
    assert code == 0 and chart.read_bytes().startswith(b"\x89PNG"), out


def test_a_misspelt_subject_or_status_is_refused_not_charted_empty(serial: str) -> None:
    code, out = _run("quality", "spc", "--site", "berlinn")
    assert code == 3 and "no site 'berlinn'" in out, out
    code, out = _run("quality", "spc", "--product", "KPX")
    assert code == 3 and "no product 'KPX'" in out, out
    code, out = _run("quality", "ncr", "list", "--status", "opened")
    assert code == 2 and "'opened' is not one of open, disposed" in out, out
    code, out = _run("quality", "spc", "--site", "berlin")
    assert code == 0, out
