"""`microfactory outbox ...`: what the outbox holds, and sending a message again by hand."""

from __future__ import annotations

import json
import time
from contextlib import ExitStack

import typer
from rich.table import Table

from microfactory.cli.context import console, container, errors, unit_of_work
from microfactory.cli.errors import command_group
from microfactory.outbox import store
from microfactory.outbox.dispatcher import Handlers, dispatch_due

app = command_group("The outbox of outbound effects: list, dispatch, retry.")


@app.command("list")
def list_messages(
    status: str | None = typer.Option(None, "--status", help="only messages in this status"),
    kind: str | None = typer.Option(None, "--kind", help="only messages of this kind"),
    limit: int = typer.Option(50, help="at most this many, newest first"),
    as_json: bool = typer.Option(False, "--json", help="print the messages as JSON"),
) -> None:
    """Messages newest first, with their attempts and last error (exit 2 for an unknown status)."""
    with unit_of_work() as uow:
        views = [store.message_view(row) for row in store.list_messages(uow, status, kind, limit)]
    if as_json:
        print(json.dumps(views, ensure_ascii=False, indent=2))
        return
    table = Table(title="outbox")
    for column in ("id", "kind", "key", "status", "attempts", "due", "last error"):
        table.add_column(column)
    for view in views:
        cells = (view["id"], view["kind"], view["key"], view["status"], str(view["attempts"]))
        table.add_row(*cells, view["due_at"] or "", (view["last_error"] or "")[:80])
    console.print(table)


@app.command()
def retry(message_id: str = typer.Argument(..., help="outbox message id (obx_...)")) -> None:
    """Send a failed, dead or unknown-outcome message again, with fresh attempts.

    For `unknown_outcome`, first check the far side: the effect may have happened.
    """
    with unit_of_work() as uow:
        view = store.message_view(store.retry(uow, message_id))
        uow.commit()
    errors.print(f"{view['id']} is pending again; the next dispatch of {view['kind']} sends it")
    print(json.dumps(view, ensure_ascii=False, indent=2))


def _handlers(stack: ExitStack) -> Handlers:
    """Every kind this process can send with the configured settings; the others are left alone."""
    handlers, missing = container().outbox_handlers(stack)
    for kind, why in missing.items():
        errors.print(f"[yellow]{kind} not dispatched: {why}[/yellow]")
    return handlers


@app.command()
def dispatch(
    kind: list[str] | None = typer.Option(None, "--kind", help="only this kind (repeat); default: all"),
    limit: int = typer.Option(100, help="at most this many messages per round"),
    every: float = typer.Option(0, "--every", help="keep dispatching every SECONDS; 0: one round"),
) -> None:
    """Send due messages by kind, with their backoff (cron, or a long-running worker with --every)."""
    factory = container().session_factory
    with ExitStack() as stack:
        handlers = _handlers(stack)
        if not handlers.kinds & set(kind or handlers.kinds):
            errors.print("[red]no handler for the kinds asked for: nothing to dispatch[/red]")
            raise typer.Exit(2)
        while True:
            report = dispatch_due(factory, handlers, kinds=kind or None, limit=limit)
            counts = ", ".join(f"{count} {status}" for status, count in sorted(report.counts.items()))
            console.print(f"{len(report.outcomes)} dispatched: {counts or 'nothing due'}")
            if every <= 0:
                return
            time.sleep(every)
