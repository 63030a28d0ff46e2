"""`microfactory demo`: the composition root of the demo, on a database of its own.

The demo never writes to the configured database: each run gets a fresh SQLite file (by default
`out/demo-<UTC time>.db`), so running it again gives the same figures for the same seed and real
data never mixes with generated orders.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import typer
from sqlalchemy import Engine

from microfactory.bootstrap import bootstrap
from microfactory.cli.context import console
from microfactory.db.engine import make_engine
from microfactory.db.migrate import upgrade
from microfactory.errors import Conflict, Invalid
from microfactory.problems import Problem
from microfactory.simulation.example_files import example_files

DEMO_FOLDER = Path("out")


def demo(
    orders: int = typer.Option(300, min=1, help="how many orders to generate"),
    seed: int = typer.Option(7, help="random seed: the same seed gives the same figures"),
    examples: Path | None = typer.Option(
        None,
        "--examples",
        file_okay=False,
        help="folder with the example files (default: examples/ of the checkout)",
    ),
    db: Path | None = typer.Option(
        None, "--db", dir_okay=False, help="SQLite file to write (default: a new out/demo-<UTC time>.db)"
    ),
    fresh: bool = typer.Option(False, "--fresh", help="delete the --db file first if it exists"),
    start: str | None = typer.Option(
        None, "--start", help="simulated start, ISO 8601 with a zone (default: 2026-03-02T07:00Z, a Monday)"
    ),
    plan_seconds: float = typer.Option(
        1.0, "--plan-seconds", min=0.0, help="solver budget per site, in CP-SAT deterministic seconds"
    ),
    production_share: float = typer.Option(
        0.2,
        "--production-share",
        min=0.0,
        max=1.0,
        help="share of each site's queue it accepts and makes through its agent (1: all of it, slower)",
    ),
    report: Path | None = typer.Option(None, "--report", dir_okay=False, help="write the figures as JSON"),
) -> None:
    """A whole pilot on a database of its own, end to end, with a report."""
    from microfactory.simulation.demo import DEMO_START, DemoSettings, run_demo

    files = example_files(examples)
    moment = DEMO_START if start is None else _aware(start)
    settings = DemoSettings(
        orders=orders,
        seed=seed,
        start=moment,
        plan_seconds=plan_seconds,
        production_share=production_share,
    )
    path = demo_database(db, fresh)
    engine = _migrated(path)
    try:
        run = run_demo(engine, console, files, settings)
    finally:
        engine.dispose()
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(json.dumps(run.figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        console.print(f"figures written to {report}")
    console.print(f"database: {path}  (MICROFACTORY_DATABASE_URL=sqlite:///{path.resolve()})")


def demo_database(db: Path | None, fresh: bool) -> Path:
    """The file this run writes: a new one in out/, or `db` if empty or absent (or with `fresh`)."""
    if db is None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        db = DEMO_FOLDER / f"demo-{stamp}.db"
        number = 1
        while db.exists():  # two runs within one second
            number += 1
            db = DEMO_FOLDER / f"demo-{stamp}-{number}.db"
    if db.exists() and db.stat().st_size > 0:
        if not fresh:
            raise Conflict(f"{db} already holds data: pass --fresh to delete it first, or another --db")
        for leftover in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            leftover.unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    return db


def _aware(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise Invalid(
            "--start is not a time with a zone", [Problem("start", f"{text!r}: e.g. 2026-03-02T07:00Z")]
        )
    return moment


def _migrated(path: Path) -> Engine:
    """The demo's own database, migrated, with the process wired by the composition root."""
    container = bootstrap(engine=make_engine(f"sqlite:///{path}"))
    upgrade(container.engine)
    return container.engine
