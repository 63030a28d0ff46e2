"""`microfactory demo`: its own database each run, the same figures for the same seed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from microfactory.cli.demo import demo_database
from microfactory.cli.main import app
from microfactory.db.engine import make_engine
from microfactory.db.tables.orders import OrderRow, WorkOrderRow
from microfactory.db.tables.production import UnitRow
from microfactory.errors import Conflict

runner = CliRunner()
SMALL = ["--orders", "40", "--plan-seconds", "1"]
CLI = "import sys; from microfactory.cli.main import app; app(sys.argv[1:])"


def _orders_in(db: Path) -> int:
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(OrderRow))
    engine.dispose()
    return int(count or 0)


@pytest.mark.slow
def test_two_runs_give_the_same_figures_each_in_its_own_database(tmp_path: Path) -> None:
    first = runner.invoke(
        app, ["demo", *SMALL, "--db", str(tmp_path / "a.db"), "--report", str(tmp_path / "a.json")]
    )
    assert first.exit_code == 0, first.output
    assert str(tmp_path / "a.db") in first.stdout
    # The second run in another process, with other hash seeds: set order must not matter either.
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(Path(__file__).parents[3] / "src")}
    args = ["demo", *SMALL, "--db", str(tmp_path / "b.db"), "--report", str(tmp_path / "b.json")]
    second = subprocess.run(
        [sys.executable, "-c", CLI, *args], check=False, env=env, capture_output=True, text=True
    )
    assert second.returncode == 0, second.stderr
    a: dict[str, Any] = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    b: dict[str, Any] = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    assert a == b
    # the second report counts its own run only: 40 orders, every work order routed and planned
    assert b["intake"]["orders"] == 40 and _orders_in(tmp_path / "b.db") == 40
    routed = sum(site["work_orders"] for site in b["routing"]["sites"].values())
    assert routed == b["intake"]["work_orders"] > 0
    planned = sum(site["orders"] for site in b["scheduling"]["sites"].values())
    assert 0 < planned <= routed
    _check_production(b["production"], tmp_path / "b.db")
    _check_quality(b["quality"], b["production"])
    _check_logistics(b["logistics"], b["production"])


def _check_quality(figures: dict[str, Any], production: dict[str, Any]) -> None:
    """Units were inspected through the service at the sites that made them, each tally adds up."""
    assert figures["units"] == production["units"] and figures["inspected"] > 0
    assert set(figures["sites"]) <= set(production["sites"])
    for tally in [*figures["sites"].values(), *figures["products"].values()]:
        assert tally["passed"] + tally["failed"] + tally["review"] == tally["inspected"]
        assert 0 <= tally["defect_rate"] <= 1
        assert sum(tally["ncrs"].values()) <= tally["failed"]
    assert figures["rework_made_again"] >= figures["rework_passed_again"]


def _check_logistics(figures: dict[str, Any], production: dict[str, Any]) -> None:
    """Made orders were packed and delivered through the simulated carriers; money is a Decimal string."""
    assert figures["parcels"] == sum(site["parcels"] for site in figures["sites"].values()) > 0
    assert figures["delivered"] == figures["parcels"]  # the demo's clock runs until every parcel arrives
    assert set(figures["sites"]) <= set(production["sites"])
    assert Decimal(figures["cost"]) == sum(Decimal(site["cost"]) for site in figures["sites"].values()) > 0
    assert Decimal(figures["emissions_kg"]) > 0
    assert figures["on_time_rate"] is None or 0 <= figures["on_time_rate"] <= 1


def _check_production(figures: dict[str, Any], db: Path) -> None:
    """Every released step was made through the agents, and the units the report counts are stored."""
    sites = figures["sites"]
    assert sites and figures["units"] == sum(site["units"] for site in sites.values()) > 0
    for site in sites.values():
        assert site["done"] == site["operations"] > 0 and site["left"] == 0
        assert site["first_unit"] <= site["last_unit"]
        assert 0 < site["mean_utilisation"] < 1
    engine = make_engine(f"sqlite:///{db}")
    with engine.connect() as connection:
        units = connection.execute(select(UnitRow.serial, UnitRow.site)).all()
        with_units = connection.scalar(select(func.count(func.distinct(UnitRow.work_order_id))))
        made = connection.scalar(  # held: made, with a unit that failed inspection (the quality stage)
            select(func.count()).select_from(WorkOrderRow).where(WorkOrderRow.status.in_(["made", "held"]))
        )
    engine.dispose()
    assert len(units) == figures["units"]
    assert all(serial.startswith(f"MF-{site.upper()}-") for serial, site in units)
    assert with_units == sum(site["work_orders_made"] for site in sites.values())
    assert 0 < made <= with_units  # a scrapped unit's work order is released to be made again


def test_another_seed_gives_other_orders(tmp_path: Path) -> None:
    reports = []
    for seed in ("7", "8"):
        report = tmp_path / f"{seed}.json"
        args = [
            "demo",
            "--orders",
            "5",
            "--plan-seconds",
            "0",
            "--seed",
            seed,
            "--db",
            str(tmp_path / f"{seed}.db"),
        ]
        result = runner.invoke(app, [*args, "--report", str(report)])
        assert result.exit_code == 0, result.output
        reports.append(json.loads(report.read_text(encoding="utf-8")))
    assert reports[0]["demo"]["seed"] == 7 and reports[1]["demo"]["seed"] == 8
    assert reports[0]["intake"] != reports[1]["intake"]


def test_a_database_with_data_is_refused_unless_fresh(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    db.write_bytes(b"not empty")
    (tmp_path / "demo.db-wal").write_bytes(b"log")
    result = runner.invoke(app, ["demo", "--orders", "1", "--db", str(db)])
    assert result.exit_code == 4
    assert "--fresh" in result.stderr and db.read_bytes() == b"not empty"
    assert demo_database(db, fresh=True) == db
    assert not db.exists() and not (tmp_path / "demo.db-wal").exists()
    db.write_bytes(b"again")
    with pytest.raises(Conflict):
        demo_database(db, fresh=False)


def test_an_empty_or_absent_file_is_used_and_the_default_is_new_each_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "empty.db").touch()
    assert demo_database(tmp_path / "empty.db", fresh=False) == tmp_path / "empty.db"
    assert demo_database(tmp_path / "new" / "x.db", fresh=False).parent.is_dir()
    monkeypatch.chdir(tmp_path)
    first = demo_database(None, fresh=False)
    first.write_bytes(b"data")
    second = demo_database(None, fresh=False)
    assert first.parent == second.parent == Path("out") and first != second


def test_missing_examples_and_a_start_without_zone_are_named(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["demo", "--examples", str(tmp_path), "--db", str(tmp_path / "x.db")])
    assert missing.exit_code == 3
    assert str(tmp_path) in missing.stderr and "catalog-keypad.yaml" in missing.stderr
    naive = runner.invoke(app, ["demo", "--start", "2026-03-02T07:00", "--db", str(tmp_path / "x.db")])
    assert naive.exit_code == 2 and "--start" in naive.stderr
    assert not (tmp_path / "x.db").exists()
