"""`microfactory worker` runs background jobs; `microfactory jobs list` shows the queue."""

from __future__ import annotations

import asyncio
import dataclasses
import json

import typer
from rich.table import Table

from microfactory.cli.context import console, container, errors, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.jobs import worker as job_worker
from microfactory.jobs.views import jobs_view

app = command_group("The job queue: what waits, runs and failed.")


@app.command("list")
def list_jobs(
    status: str | None = typer.Option(
        None, "--status", help="only jobs in this status (todo, doing, failed...)"
    ),
    limit: int = typer.Option(50, help="at most this many, newest first"),
    as_json: bool = typer.Option(False, "--json", help="print the view as JSON"),
) -> None:
    """Jobs newest first with their attempts, counts by status, and live workers (exit 2: bad status)."""
    with unit_of_work() as uow:
        view = jobs_view(uow, status, limit)
    if as_json:
        print(json.dumps(view, ensure_ascii=False, indent=2))
        return
    table = Table(title=f"jobs: {view['queue']}")
    for column in ("id", "task", "status", "attempts", "scheduled", "worker"):
        table.add_column(column)
    for job in view["jobs"]:
        cells = (str(job["id"]), job["task"], job["status"], str(job["attempts"]))
        table.add_row(*cells, job["scheduled_at"] or "", str(job["worker_id"] or ""))
    console.print(table)
    counts = ", ".join(f"{name} {count}" for name, count in view["counts"].items()) or "none"
    console.print(f"counts: {counts}; workers alive: {len(view['workers'])}")


def worker(
    concurrency: int | None = typer.Option(
        None, "--concurrency", help="jobs run at once (default from settings)"
    ),
) -> None:
    """Run background jobs until stopped (Ctrl-C, SIGTERM): inbox, routing, outbox. PostgreSQL only;
    start one or more per machine, they share the queue."""
    process = container()
    if concurrency is not None:
        settings = process.settings.with_changes(jobs_concurrency=concurrency)
        process = dataclasses.replace(process, settings=settings)
    job_worker.require_queue(process.engine)
    errors.print(f"worker {job_worker.worker_name()} on {process.engine.url.render_as_string()}")
    asyncio.run(job_worker.run(process))
